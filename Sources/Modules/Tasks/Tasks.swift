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
        m.method("tasks.home", access: .public, idempotent: true) { (_: Empty, ctx) -> Home in
            guard let user = ctx.user else { return Home(projects: []) }
            return Home(projects: try await TaskStore(ctx.db).projects(visibleTo: user))
        }
        m.method("tasks.projects", access: .signedIn, idempotent: true) { (_: Empty, ctx) in
            try await TaskStore(ctx.db).projects(visibleTo: try ctx.requireUser())
        }
        m.method("tasks.createProject", access: .signedIn) { (new: NewProject, ctx) in
            try await TaskStore(ctx.db).createProject(new, owner: try ctx.requireUser())
        }
        m.method("tasks.project", access: .signedIn, idempotent: true) { (query: ProjectQuery, ctx) in
            try await TaskStore(ctx.db).board(query, for: try ctx.requireUser())
        }
        m.method("tasks.addMember", access: .signedIn) { (new: NewMember, ctx) in
            try await TaskStore(ctx.db).addMember(new, by: try ctx.requireUser())
        }
        m.method("tasks.createTask", access: .signedIn) { (new: NewTask, ctx) in
            try await TaskStore(ctx.db).createTask(new, by: try ctx.requireUser())
        }
        m.method("tasks.task", access: .signedIn, idempotent: true) { (ref: TaskRef, ctx) in
            try await TaskStore(ctx.db).detail(ref.id, for: try ctx.requireUser())
        }
        m.method("tasks.updateTask", access: .signedIn) { (change: TaskChange, ctx) in
            try await TaskStore(ctx.db).update(change, by: try ctx.requireUser())
        }
        m.method("tasks.comment", access: .signedIn) { (new: NewComment, ctx) in
            try await TaskStore(ctx.db).comment(new, by: try ctx.requireUser())
        }

        m.page("/", calls: "tasks.home", template: "tasks/home")
        m.form("/projects", calls: "tasks.createProject", redirect: "/projects/{id}", shownOn: "/")
        m.page("/projects/:project", calls: "tasks.project", template: "tasks/project")
        m.form("/projects/:project/members", calls: "tasks.addMember", redirect: "/projects/{project}", shownOn: "/projects/:project")
        m.form("/projects/:project/tasks", calls: "tasks.createTask", redirect: "/tasks/{id}", shownOn: "/projects/:project")
        m.page("/tasks/:id", calls: "tasks.task", template: "tasks/task")
        m.form("/tasks/:id", calls: "tasks.updateTask", redirect: "/tasks/{id}", shownOn: "/tasks/:id")
        m.form("/tasks/:id/comments", calls: "tasks.comment", redirect: "/tasks/{task}#comments", shownOn: "/tasks/:id")

        m.api(.get, "/api/projects", calls: "tasks.projects")
        m.api(.post, "/api/projects", calls: "tasks.createProject")
        m.api(.get, "/api/projects/:project/tasks", calls: "tasks.project")
        m.api(.post, "/api/projects/:project/tasks", calls: "tasks.createTask")
        m.api(.get, "/api/tasks/:id", calls: "tasks.task")
        m.api(.patch, "/api/tasks/:id", calls: "tasks.updateTask")
        m.api(.post, "/api/tasks/:id/comments", calls: "tasks.comment")
    }
}
