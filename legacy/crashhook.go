package legacy

// SimulateCrashBeforeCommit makes Run return err right after a flush has
// reached both stores and before its offsets are committed: System One's
// documented double count after a crash, for fault-injection tests of
// other packages (the audit replay's). Call it before Run; production
// code never does.
func (in *Ingester) SimulateCrashBeforeCommit(err error) { in.crashBeforeCommit = err }
