import StrataApp

/// A task's place in the work.
enum TaskStatus: String, Codable, Sendable, CaseIterable {
    case todo, doing, done
}

struct Home: Codable, Sendable {
    let projects: [ProjectSummary]
    /// For the template: whether to show the list or the invitation to start one.
    let has_projects: Bool

    init(projects: [ProjectSummary]) {
        self.projects = projects
        has_projects = !projects.isEmpty
    }
}

struct ProjectSummary: Codable, Sendable {
    let id: Int64
    let name: String
    let description: String
    let open_tasks: Int64
    let done_tasks: Int64
}

struct NewProject: Codable, Sendable, Validatable {
    let name: String
    let description: String?

    func validate(_ v: inout Validation) {
        v.length("name", name, 1...80)
        v.check("description", (description ?? "").count <= 2000, "must be at most 2000 characters")
    }
}

struct Created: Codable, Sendable {
    let id: Int64
}

struct ProjectQuery: Codable, Sendable, Validatable {
    let project: Int64
    /// Words to look for in titles and descriptions.
    let q: String?
    let status: TaskStatus?
    let page: Int?

    func validate(_ v: inout Validation) {
        v.check("q", (q ?? "").count <= 200, "must be at most 200 characters")
        v.range("page", page ?? 1, 1...10_000)
    }
}

struct Member: Codable, Sendable {
    let id: Int64
    let name: String
    let email: String
}

struct TaskRow: Codable, Sendable {
    let id: Int64
    let project_id: Int64
    let title: String
    let description: String
    let status: String
    let assignee_id: Int64?
    let assignee_name: String?
    let due_date: String?
    let created_at: Int64
    let updated_at: Int64
}

struct Board: Codable, Sendable {
    let project: ProjectSummary
    let is_owner: Bool
    let members: [Member]
    let tasks: [TaskRow]
    let q: String
    let status: String
    let page: Int
    let previous_page: Int?
    let next_page: Int?
    let statuses: [StatusOption]
}

/// A `<select>` option, with whether it is the current one.
struct StatusOption: Codable, Sendable {
    let value: String
    let selected: Bool
}

struct NewMember: Codable, Sendable, Validatable {
    let project: Int64
    let email: String
    func validate(_ v: inout Validation) { v.length("email", email, 3...254) }
}

struct NewTask: Codable, Sendable, Validatable {
    let project: Int64
    let title: String
    let description: String?
    let assignee: Int64?
    let due_date: String?

    func validate(_ v: inout Validation) {
        v.length("title", title, 1...200)
        v.check("description", (description ?? "").count <= 5000, "must be at most 5000 characters")
        if let due_date { v.matches("due_date", due_date, "\\d{4}-\\d{2}-\\d{2}", "must be a date like 2026-12-31") }
    }
}

struct TaskRef: Codable, Sendable {
    let id: Int64
}

struct TaskChange: Codable, Sendable, Validatable {
    let id: Int64
    let title: String?
    let status: TaskStatus?
    let assignee: Int64?
    let due_date: String?

    func validate(_ v: inout Validation) {
        if let title { v.length("title", title, 1...200) }
        if let due_date { v.matches("due_date", due_date, "\\d{4}-\\d{2}-\\d{2}", "must be a date like 2026-12-31") }
    }
}

struct Comment: Codable, Sendable {
    let id: Int64
    let author: String
    let body: String
    let created_at: Int64
}

struct TaskDetail: Codable, Sendable {
    let task: TaskRow
    let project: ProjectSummary
    let members: [MemberOption]
    let comments: [Comment]
    let statuses: [StatusOption]
}

/// A member as an assignee choice.
struct MemberOption: Codable, Sendable {
    let id: Int64
    let name: String
    let selected: Bool
}

struct NewComment: Codable, Sendable, Validatable {
    let id: Int64
    let body: String
    func validate(_ v: inout Validation) { v.length("body", body, 1...5000) }
}

struct CommentAdded: Codable, Sendable {
    let task: Int64
    let id: Int64
}

struct MemberAdded: Codable, Sendable {
    let project: Int64
    let user: Int64
}
