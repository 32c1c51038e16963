/// A template could not be compiled or rendered; names the template, line and column.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The template's name, such as `guestbook/index`.
    public let template: String
    /// 1-based line of the problem.
    public let line: Int
    /// 1-based column of the problem.
    public let column: Int
    /// What is wrong, for a template author.
    public let message: String

    /// Creates an error at a position.
    public init(template: String, line: Int, column: Int, message: String) {
        self.template = template
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "\(template):\(line):\(column): \(message)" }
}
