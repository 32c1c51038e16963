import Foundation
import StrataApp

/// The task board's storage and its rules of visibility: a user sees a
/// project (and its tasks) only as a member or an admin; anyone else is told
/// it does not exist.
struct TaskStore {
    let db: Database

    init(_ db: Database) { self.db = db }

    static let pageSize = 20

    private var now: Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000) }

    // MARK: Projects

    func projects(visibleTo user: User) async throws -> [ProjectSummary] {
        try await db.query(
            ProjectSummary.self,
            """
            SELECT p.id, p.name, p.description,
                   (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status <> 'done') AS open_tasks,
                   (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'done') AS done_tasks
            FROM projects p
            WHERE $1 = 1 OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $2)
            ORDER BY p.name
            """, .int(user.isAdmin ? 1 : 0), .int(user.id))
    }

    func createProject(_ new: NewProject, owner: User) async throws -> Created {
        let id = try await db.transaction { tx in
            let created = try await tx.query(
                Created.self, "INSERT INTO projects (name, description, owner_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                .text(new.name.trimmed), .text(new.description?.trimmed ?? ""), .int(owner.id), .int(now))
            guard let id = created.first?.id else { throw RPCError(.internal, "the new project has no id") }
            try await tx.execute("INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)", .int(id), .int(owner.id))
            return id
        }
        return Created(id: id)
    }

    /// The project if `user` may see it; `notFound` otherwise (its existence is not revealed).
    func project(_ id: Int64, for user: User) async throws -> (summary: ProjectSummary, ownerID: Int64) {
        struct Row: Decodable {
            let id: Int64, name: String, description: String, owner_id: Int64, open_tasks: Int64, done_tasks: Int64
        }
        let row = try await db.queryOne(
            Row.self,
            """
            SELECT p.id, p.name, p.description, p.owner_id,
                   (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status <> 'done') AS open_tasks,
                   (SELECT count(*) FROM tasks t WHERE t.project_id = p.id AND t.status = 'done') AS done_tasks
            FROM projects p
            WHERE p.id = $1 AND ($2 = 1 OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.user_id = $3))
            """, .int(id), .int(user.isAdmin ? 1 : 0), .int(user.id), missing: "There is no such project.")
        return (
            ProjectSummary(id: row.id, name: row.name, description: row.description, open_tasks: row.open_tasks, done_tasks: row.done_tasks),
            row.owner_id
        )
    }

    func members(of project: Int64) async throws -> [Member] {
        try await db.query(
            Member.self,
            """
            SELECT u.id, u.name, u.email FROM project_members m JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.name
            """, .int(project))
    }

    /// The owner or an admin may add people, by the email they signed up with.
    func addMember(_ new: NewMember, by user: User) async throws -> MemberAdded {
        let (_, ownerID) = try await project(new.project, for: user)
        guard ownerID == user.id || user.isAdmin else { throw RPCError(.permissionDenied, "Only the project's owner can add members.") }
        struct Found: Decodable { let id: Int64 }
        guard
            let member = try await db.query(
                Found.self, "SELECT id FROM users WHERE email_key = $1",
                .text(new.email.trimmed.lowercased())
            ).first
        else {
            throw FieldErrors(["email": "does not belong to anyone here yet"])
        }
        do {
            try await db.execute("INSERT INTO project_members (project_id, user_id) VALUES ($1, $2)", .int(new.project), .int(member.id))
        } catch let error as RPCError where error.code == .alreadyExists {
            throw FieldErrors(["email": "is a member already"])
        }
        return MemberAdded(project: new.project, user: member.id)
    }

    // MARK: Tasks

    private static let taskColumns = """
        t.id, t.project_id, t.title, t.description, t.status, t.assignee_id, u.name AS assignee_name, t.due_date, t.created_at, t.updated_at
        """

    /// One page of a project's tasks: in progress first, then by due date; filtered by status and words.
    func board(_ query: ProjectQuery, for user: User) async throws -> Board {
        let (project, ownerID) = try await project(query.project, for: user)
        let page = query.page ?? 1
        let words = (query.q ?? "").trimmed
        let pattern = words.isEmpty ? "" : "%" + Self.escapeLike(words.lowercased()) + "%"
        let rows = try await db.query(
            TaskRow.self,
            """
            SELECT \(Self.taskColumns)
            FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id
            WHERE t.project_id = $1 AND ($2 = '' OR t.status = $2)
              AND ($3 = '' OR lower(t.title) LIKE $3 ESCAPE '\\' OR lower(t.description) LIKE $3 ESCAPE '\\')
            ORDER BY CASE t.status WHEN 'doing' THEN 0 WHEN 'todo' THEN 1 ELSE 2 END, t.due_date IS NULL, t.due_date, t.id DESC
            LIMIT $4 OFFSET $5
            """, .int(query.project), .text(query.status?.rawValue ?? ""), .text(pattern), .int(Int64(Self.pageSize + 1)),
            .int(Int64((page - 1) * Self.pageSize)))
        return Board(
            project: project, is_owner: ownerID == user.id || user.isAdmin, members: try await members(of: query.project),
            tasks: Array(rows.prefix(Self.pageSize)), q: words, status: query.status?.rawValue ?? "", page: page,
            previous_page: page > 1 ? page - 1 : nil, next_page: rows.count > Self.pageSize ? page + 1 : nil,
            statuses: TaskStatus.allCases.map { StatusOption(value: $0.rawValue, selected: $0 == query.status) })
    }

    /// `%`, `_` and `\` typed by the user match themselves.
    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// An assignee must be a member of the project.
    private func checkAssignee(_ assignee: Int64?, project: Int64) async throws {
        guard let assignee else { return }
        guard try await members(of: project).contains(where: { $0.id == assignee }) else {
            // The request is well-formed; the project's state refuses it (409 on the API).
            throw RPCError(.failedPrecondition, "The assignee is not a member of this project.")
        }
    }

    func createTask(_ new: NewTask, by user: User) async throws -> Created {
        _ = try await project(new.project, for: user)
        try await checkAssignee(new.assignee, project: new.project)
        let created = try await db.query(
            Created.self,
            """
            INSERT INTO tasks (project_id, title, description, assignee_id, due_date, created_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id
            """, .int(new.project), .text(new.title.trimmed), .text(new.description?.trimmed ?? ""),
            new.assignee.map { .int($0) } ?? .null, new.due_date.map { .text($0) } ?? .null, .int(user.id), .int(now))
        guard let id = created.first?.id else { throw RPCError(.internal, "the new task has no id") }
        return Created(id: id)
    }

    /// The task if `user` may see its project.
    func task(_ id: Int64, for user: User) async throws -> TaskRow {
        guard
            let row = try await db.query(
                TaskRow.self, "SELECT \(Self.taskColumns) FROM tasks t LEFT JOIN users u ON u.id = t.assignee_id WHERE t.id = $1",
                .int(id)
            ).first
        else { throw RPCError(.notFound, "There is no such task.") }
        do {
            _ = try await project(row.project_id, for: user)
        } catch let error as RPCError where error.code == .notFound {
            throw RPCError(.notFound, "There is no such task.")
        }
        return row
    }

    func detail(_ id: Int64, for user: User) async throws -> TaskDetail {
        let task = try await task(id, for: user)
        let (project, _) = try await project(task.project_id, for: user)
        let comments = try await db.query(
            Comment.self,
            """
            SELECT c.id, u.name AS author, c.body, c.created_at FROM comments c JOIN users u ON u.id = c.author_id WHERE c.task_id = $1 ORDER BY c.id
            """, .int(id))
        return TaskDetail(
            task: task, project: project,
            members: try await members(of: task.project_id).map { MemberOption(id: $0.id, name: $0.name, selected: $0.id == task.assignee_id) },
            comments: comments,
            statuses: TaskStatus.allCases.map { StatusOption(value: $0.rawValue, selected: $0.rawValue == task.status) })
    }

    /// Changes what the request names; the form sends every field, the JSON API only the ones to change.
    func update(_ change: TaskChange, by user: User) async throws -> Created {
        let task = try await task(change.id, for: user)
        try await checkAssignee(change.assignee, project: task.project_id)
        try await db.execute(
            """
            UPDATE tasks SET title = $2, status = $3, assignee_id = $4, due_date = $5, updated_at = $6 WHERE id = $1
            """, .int(task.id), .text(change.title?.trimmed ?? task.title), .text(change.status?.rawValue ?? task.status),
            (change.assignee ?? task.assignee_id).map { .int($0) } ?? .null,
            (change.due_date ?? task.due_date).map { .text($0) } ?? .null, .int(now))
        return Created(id: task.id)
    }

    func comment(_ new: NewComment, by user: User) async throws -> CommentAdded {
        _ = try await task(new.id, for: user)
        let created = try await db.query(
            Created.self, "INSERT INTO comments (task_id, author_id, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            .int(new.id), .int(user.id), .text(new.body.trimmed), .int(now))
        return CommentAdded(task: new.id, id: created.first?.id ?? 0)
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
