package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/component"
)

// Exit codes of every brooks command. The kinds of error that choose them
// are declared here, in one place: a command returns one of them (or any
// other error, for 1) and run maps it with errors.As.
//
//	0  success
//	1  failure: a component stopped on an error, a check found a problem
//	   (brooks diff, brooks ledger, archive verify)
//	2  usage: unknown command or flag, bad argument, bad configuration
//	   (including an open HTTP surface on a non-loopback address)
//	3  inconclusive: a check could not decide (exitCode(3))
const (
	exitOK           = 0
	exitFailure      = 1
	exitUsage        = 2
	exitInconclusive = 3
)

// usageError marks errors caused by how the command was called (exit 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// exitCode lets a command choose its exit status (brooks diff exits 1 on a
// mismatch) after printing its own output; run prints nothing more.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// exitStatus is the process status for what a command returned, and
// whether run should print err.
func exitStatus(err error) (status int, print bool) {
	var ec exitCode
	var ue usageError
	switch {
	case err == nil:
		return exitOK, false
	case errors.As(err, &ec):
		return int(ec), false
	case errors.As(err, &ue), errors.Is(err, component.ErrUnauthenticated):
		return exitUsage, true
	}
	return exitFailure, true
}

// typedUsage makes cobra's own usage errors usageErrors: bad flags (through
// the flag error function, which subcommands inherit), bad positional
// arguments (every command's Args validator is wrapped) and unknown
// subcommands (a parent command without Run rejects any argument).
func typedUsage(root *cobra.Command) {
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Run == nil && c.RunE == nil && c.HasSubCommands() {
			// Without a Run, cobra prints help and exits 0 for
			// `brooks legacy typo`; a Run that shows help keeps `brooks
			// legacy` helpful and lets Args reject the typo.
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			if c.Args == nil {
				c.Args = cobra.NoArgs
			}
		}
		if args := c.Args; args != nil {
			c.Args = func(cmd *cobra.Command, a []string) error {
				if err := args(cmd, a); err != nil {
					return usageError{err}
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
