package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is what every subcommand gets: the loaded configuration and a logger.
type app struct {
	cfg  config.Config
	log  *slog.Logger
	toks *auth.Tokens // api_tokens_file, once loaded (see tokens)
}

// customers loads the customer registry named by the configuration.
func (a *app) customers() (*pixel.Customers, error) {
	return pixel.LoadCustomers(a.cfg.CustomersFile)
}

// run is the binary: the command line in, the exit status out; SIGINT and
// SIGTERM end the context a component runs with.
func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args)
}

// runContext is run with the caller's context (tests stop components by
// canceling it).
func runContext(ctx context.Context, args []string) int {
	a := &app{cfg: config.Default()}
	root := &cobra.Command{
		Use:           "brooks",
		Short:         "Brooks runs a legacy and a nextgen analytics system side by side and proves the new one right",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.cfg.Load(cmd.Flags()); err != nil {
				return usageError{err}
			}
			l, err := obs.NewLogger(obs.Stderr, a.cfg.LogLevel, a.cfg.LogFormat)
			if err != nil {
				return usageError{err}
			}
			a.log = l.With("cmd", cmd.Name())
			return nil
		},
	}
	a.cfg.RegisterFlags(root.PersistentFlags())
	for _, c := range commands(a) {
		root.AddCommand(c)
	}
	typedUsage(root)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	status, print := exitStatus(err)
	if print {
		fmt.Fprintln(os.Stderr, "brooks:", err)
	}
	return status
}
