import StrataApp

/// The `vapor new` template's todo list as a Strata module: a page with a
/// form and delete buttons, and the same as a JSON API.
public struct Todos: DomainModule {
    public init() {}

    public var templates: ModuleTemplates? { ModuleTemplates(bundle: .module) }

    public func register(_ m: inout ModuleRegistry) {
        let list = m.method("todos.list", access: .public, idempotent: true) { (_: Empty, ctx) in
            TodoList(todos: try await ctx.db.query(Todo.self, "SELECT id, title FROM todos ORDER BY id"))
        }
        let create = m.method("todos.create", access: .public) { (new: NewTodo, ctx) in
            try await ctx.db.queryOne(Todo.self, "INSERT INTO todos (title) VALUES ($1) RETURNING id, title", .text(new.title))
        }
        let delete = m.method("todos.delete", access: .public) { (todo: TodoID, ctx) in
            try await ctx.db.queryOne(
                Todo.self, "DELETE FROM todos WHERE id = $1 RETURNING id, title", .int(todo.id), missing: "There is no such todo.")
        }
        let page = m.page("/todos", list, template: "todos/index")
        m.form("/todos", create, shownOn: page) { _ in "/todos" }
        m.form("/todos/:id/delete", delete) { Redirect(to: "/todos", flash: "Deleted “\($0.title)”.") }
        m.api(.get, "/api/todos", list)
        m.api(.post, "/api/todos", create)
        m.api(.delete, "/api/todos/:id", delete)
    }
}

struct Todo: Codable, Sendable {
    let id: Int64
    let title: String
}

struct TodoList: Codable, Sendable {
    let todos: [Todo]
}

struct TodoID: Codable, Sendable {
    let id: Int64
}

struct NewTodo: Codable, Sendable, Validatable {
    let title: String
    func validate(_ v: inout Validation) { v.length("title", title, 1...200) }
}
