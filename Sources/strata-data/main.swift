import StrataData

#if canImport(Glibc)
    import Glibc
#endif

exit(await DataCommand.main(Array(CommandLine.arguments.dropFirst())))
