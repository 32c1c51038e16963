import StrataLauncher
#if canImport(Glibc)
import Glibc
#endif

exit(LauncherCommand.main(Array(CommandLine.arguments.dropFirst())))
