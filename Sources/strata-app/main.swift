import Guestbook
import StrataApp
#if canImport(Glibc)
import Glibc
#endif

// The modules this application tier hosts.
let modules: [any DomainModule] = [Guestbook()]

exit(await AppCommand.main(Array(CommandLine.arguments.dropFirst()), modules: modules))
