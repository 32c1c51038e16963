// Template benchmark: renders per second on one thread of
//   1. the TechEmpower fortunes template with its 13 rows, and
//   2. a realistic page: a layout with blocks, three partials and a 50-row table.
//
//   swift run -c release StrataTemplateBench [SECONDS]
//
// Run by Tests/Benchmarks/template-bench.sh; prints a Markdown table.
import StrataTemplates

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 3

let fortunes: [(Int64, String)] = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, "<script>alert(\"This should not be displayed in a browser alert box.\");</script>"),
    (12, "フレームワークのベンチマーク"),
    (0, "Additional fortune added at request time."),
].sorted { $0.1 < $1.1 }

let fortunesData = TemplateValue.object(["fortunes": .array(fortunes.map { .object(["id": .int($0.0), "message": .string($0.1)]) })])
let rows = (1...50).map { i in
    TemplateValue.object([
        "id": .int(Int64(i)), "title": .string("Task number \(i) & friends"), "owner": .string("user\(i % 7)"),
        "done": .bool(i % 3 == 0), "due": .string("2026-12-\(10 + i % 18)"),
    ])
}
let pageData = TemplateValue.object([
    "title": .string("Tasks"), "user": .object(["name": .string("Ada")]), "tasks": .array(rows),
    "flash": .string("Saved <b>everything</b>"),
])

let library = try TemplateLibrary(sources: [
    "fortunes":
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>{{#fortunes}}<tr><td>{{id}}</td><td>{{message}}</td></tr>{{/fortunes}}</table></body></html>",
    "layout": """
    <!DOCTYPE html>
    <html lang="en">
    <head><meta charset="utf-8"><title>{{$title}}Strata{{/title}}</title>{{$head}}{{/head}}</head>
    <body>
    {{>header}}
    {{#flash}}<p class="flash">{{flash}}</p>{{/flash}}
    <main>{{$content}}{{/content}}</main>
    {{>footer}}
    {{$scripts}}{{/scripts}}
    </body>
    </html>
    """,
    "header": "<header><a href=\"/\">Home</a>{{#user}} <span>Signed in as {{name}}</span>{{/user}}</header>",
    "footer": "<footer><small>Rendered by Strata</small></footer>",
    "task_row":
        "<tr class=\"{{#done}}done{{/done}}{{^done}}open{{/done}}\"><td>{{id}}</td><td><a href=\"/tasks/{{id}}\">{{title}}</a></td><td>{{owner}}</td><td>{{due}}</td></tr>",
    "page": """
    {{<layout}}
    {{$title}}{{title}} · Strata{{/title}}
    {{$content}}
    <h1>{{title}}</h1>
    <table><tr><th>#</th><th>Task</th><th>Owner</th><th>Due</th></tr>
    {{#tasks}}{{>task_row}}{{/tasks}}
    </table>
    {{/content}}
    {{/layout}}
    """,
])

func measure(_ name: String, _ data: TemplateValue) throws -> (Double, Int) {
    var out: [UInt8] = []
    out.reserveCapacity(16_384)
    try library.render(name, data, into: &out)  // warm up
    let size = out.count
    var renders = 0
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + .milliseconds(Int(seconds * 1000))
    while clock.now < end {
        for _ in 0..<100 {
            out.removeAll(keepingCapacity: true)
            try library.render(name, data, into: &out)
        }
        renders += 100
    }
    let elapsed = clock.now - start
    let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return (Double(renders) / total, size)
}

print("| template | output bytes | renders/s (one thread) | µs per render |")
print("|---|---|---|---|")
for (label, name, data) in [("fortunes (13 rows)", "fortunes", fortunesData), ("page: layout + 3 partials + 50 rows", "page", pageData)] {
    let (rate, size) = try measure(name, data)
    print("| \(label) | \(size) | \(Int(rate)) | \(Double(Int(10_000_000 / rate)) / 10) |")
}
