package main

import "github.com/spf13/cobra"

// commands lists every subcommand; each lives in a file named after it.
func commands(a *app) []*cobra.Command {
	return []*cobra.Command{
		newMigrateCmd(a),
		newCollectorCmd(a),
		newLoadgenCmd(a),
		newLegacyCmd(a),
		newArchiveCmd(a),
		newLedgerCmd(a),
		newAuditCmd(a),
		newDiffCmd(),
		newCompareCmd(a),
		newNextgenCmd(a),
		newProxyCmd(a), newShadowCmd(a),
		newCutoverCmd(a),
		newTokenCmd(a),
		newDashboardsCmd(a),
		newFaultsCmd(a),
		newBenchCmd(a),
	}
}
