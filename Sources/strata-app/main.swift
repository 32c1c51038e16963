import Bench
import Guestbook
import StrataApp
import Tasks
import Todos

#if canImport(Glibc)
    import Glibc
#endif

// The modules this application tier hosts; the benchmark one only with --bench.
let modules: [any DomainModule] = [Tasks(), Guestbook(), Todos()]

exit(await AppCommand.main(Array(CommandLine.arguments.dropFirst()), modules: modules, benchmarkModules: [Bench()]))
