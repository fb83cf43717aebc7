package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/config"
	"github.com/brooksdata/brooks/internal/obs"
	"github.com/brooksdata/brooks/pixel"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app is what every subcommand gets: the loaded configuration and a logger.
type app struct {
	cfg config.Config
	log *slog.Logger
}

// customers loads the customer registry named by the configuration.
func (a *app) customers() (*pixel.Customers, error) {
	return pixel.LoadCustomers(a.cfg.CustomersFile)
}

// usageError marks errors caused by how the command was called (exit 2).
type usageError struct{ error }

func run(args []string) int {
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
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ue usageError
	var ec exitCode
	if errors.As(err, &ec) {
		// The command printed its own output and chose its status.
		return int(ec)
	}
	fmt.Fprintln(os.Stderr, "brooks:", err)
	switch {
	case errors.As(err, &ue), isCobraUsage(err):
		return 2
	}
	return 1
}

// exitCode lets a command choose its exit status (brooks diff exits 1 on a
// mismatch) after printing its own output.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
