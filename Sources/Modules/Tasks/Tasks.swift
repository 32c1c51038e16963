import StrataApp

/// A team task board, the sample application `strata up` shows at `/`:
/// projects with members, tasks with a status, an assignee and a due date,
/// comments, search and pages of results, as HTML pages with forms and as a
/// JSON API over the same methods. Members see their projects; admins see all.
public struct Tasks: DomainModule {
    /// Creates the module.
    public init() {}

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }
    public var assets: ModuleAssets? { ModuleAssets(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        let home = m.method("tasks.home", access: .public, idempotent: true) { (_: Empty, ctx) -> Home in
            guard let user = ctx.user else { return Home(projects: []) }
            return Home(projects: try await TaskStore(ctx.db).projects(visibleTo: user))
        }
        let projects = m.method("tasks.projects", access: .signedIn, idempotent: true) { (_: Empty, ctx) in
            try await TaskStore(ctx.db).projects(visibleTo: ctx.user)
        }
        let createProject = m.method("tasks.createProject", access: .signedIn) { (new: NewProject, ctx) in
            try await TaskStore(ctx.db).createProject(new, owner: ctx.user)
        }
        let project = m.method("tasks.project", access: .signedIn, idempotent: true) { (query: ProjectQuery, ctx) in
            try await TaskStore(ctx.db).board(query, for: ctx.user)
        }
        let addMember = m.method("tasks.addMember", access: .signedIn) { (new: NewMember, ctx) in
            try await TaskStore(ctx.db).addMember(new, by: ctx.user)
        }
        let createTask = m.method("tasks.createTask", access: .signedIn) { (new: NewTask, ctx) in
            try await TaskStore(ctx.db).createTask(new, by: ctx.user)
        }
        let task = m.method("tasks.task", access: .signedIn, idempotent: true) { (ref: TaskRef, ctx) in
            try await TaskStore(ctx.db).detail(ref.id, for: ctx.user)
        }
        let updateTask = m.method("tasks.updateTask", access: .signedIn) { (change: TaskChange, ctx) in
            try await TaskStore(ctx.db).update(change, by: ctx.user)
        }
        let comment = m.method("tasks.comment", access: .signedIn) { (new: NewComment, ctx) in
            try await TaskStore(ctx.db).comment(new, by: ctx.user)
        }

        let homePage = m.page("/", home, template: "tasks/home")
        m.form("/projects", createProject, shownOn: homePage) { "/projects/\($0.id)" }
        let boardPage = m.page("/projects/:project", project, template: "tasks/project")
        m.form("/projects/:project/members", addMember, shownOn: boardPage) { "/projects/\($0.project)" }
        m.form("/projects/:project/tasks", createTask, shownOn: boardPage) { "/tasks/\($0.id)" }
        let taskPage = m.page("/tasks/:id", task, template: "tasks/task")
        m.form("/tasks/:id", updateTask, shownOn: taskPage) { "/tasks/\($0.id)" }
        m.form("/tasks/:id/comments", comment, shownOn: taskPage) { "/tasks/\($0.task)#comments" }

        m.api(.get, "/api/projects", projects)
        m.api(.post, "/api/projects", createProject)
        m.api(.get, "/api/projects/:project/tasks", project)
        m.api(.post, "/api/projects/:project/tasks", createTask)
        m.api(.get, "/api/tasks/:id", task)
        m.api(.patch, "/api/tasks/:id", updateTask)
        m.api(.post, "/api/tasks/:id/comments", comment)
    }
}
