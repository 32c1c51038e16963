import StrataLauncher

#if canImport(Glibc)
    import Glibc
#endif

exit(await LauncherCommand.main(Array(CommandLine.arguments.dropFirst())))
