// Package api serves the audit's admin HTTP API: the lineage ledger's
// report with the truth references recomputed from the archive, and the
// stored audit certificates. `brooks audit serve` mounts Handlers on its
// component runner, which asks an admin token of every route; the
// dashboards' console reads them.
//
//	GET /v1/ledger/report?customer=C&from=&to=   one ledger.Report (JSON)
//	GET /v1/audit/runs[?customer=C]              {"runs": [certify.Summary, ...]}, newest first
package api

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/brooksdata/brooks/audit/archive"
	"github.com/brooksdata/brooks/audit/ledger"
	"github.com/brooksdata/brooks/legacy"
	"github.com/brooksdata/brooks/pixel"
)

// AddTruth adds the truth stages (ledger.StageTruth, StageTruthLegacy),
// recomputed from the archive under root, to hours, and returns notes
// saying what it did. Without an archive for the period it adds nothing
// and says so; an archive that cannot be read is an error.
func AddTruth(ctx context.Context, root string, cs *pixel.Customers, hours ledger.Hours, customer string, from, to time.Time, lookback time.Duration) ([]string, error) {
	if _, err := os.Stat(root); err != nil {
		return []string{fmt.Sprintf("no truth references: no archive at %s (BROOKS_STATE or --archive-dir)", root)}, nil
	}
	sink, err := archive.NewLocal(root)
	if err != nil {
		return nil, err
	}
	truth, err := archive.Truth(ctx, sink, customer, from, to, lookback,
		map[string]archive.Subset{ledger.StageTruth: nil, ledger.StageTruthLegacy: legacy.Counts(cs)})
	if err != nil {
		return nil, fmt.Errorf("truth from the archive %s: %w (run bin/brooks archive verify)", root, err)
	}
	n := 0
	for stage, byHour := range truth {
		for h, t := range byHour {
			if hours[h] == nil {
				hours[h] = map[string]ledger.Tally{}
			}
			hours[h][stage] = t
			n++
		}
	}
	if n == 0 {
		return []string{fmt.Sprintf("no truth references: the archive %s has no parts of %s in the period", root, customer)}, nil
	}
	return []string{fmt.Sprintf("truth and truth_legacy recomputed from the archive %s (distinct event ids; looking back %s)", root, lookback)}, nil
}
