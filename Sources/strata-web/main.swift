import StrataWeb

#if canImport(Glibc)
    import Glibc
#endif

exit(await WebCommand.main(Array(CommandLine.arguments.dropFirst())))
