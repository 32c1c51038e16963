/// A registered method, as `ModuleRegistry.method` returns it: what
/// `m.page`, `m.form` and `m.api` take, so a route can only call a method
/// that exists, and the compiler knows what it returns (a page's template
/// data, a form's redirect).
public struct ModuleMethod<Input: Decodable & Sendable, Output: Encodable & Sendable>: Sendable {
    /// The method's RPC name (`guestbook.list`), as other tiers call it.
    public let name: String
}

/// A declared page, as `ModuleRegistry.page` returns it: a form names the page
/// it is shown on (`shownOn:`), which is rendered again when the form's input is invalid.
/// Who may keep a page's rendering: see `ModuleRegistry.page`.
public enum PageCache: Sendable, Equatable {
    /// Each browser's own (the default): may show who is signed in.
    case `private`
    /// The same for everyone: shared caches may keep it this many seconds.
    case `public`(maxAge: Int)
}

public struct PageRoute: Sendable {
    /// The page's path pattern (`/projects/:project`).
    public let path: String
}
