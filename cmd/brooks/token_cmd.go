package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/brooksdata/brooks/internal/auth"
	"github.com/brooksdata/brooks/query"
)

// newTokenCmd is `brooks token new --customer C|--admin`: the one way to
// make a bearer token of api_tokens_file, which every component and the
// proxy authenticate with.
func newTokenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage the bearer tokens of api_tokens_file (every HTTP surface)"}
	var customer string
	var admin bool
	newCmd := &cobra.Command{
		Use:   "new",
		Short: "Make a token (--customer C: reads only C; --admin: everything), print it once and append only its hash to api_tokens_file",
		Example: `  brooks token new --admin --api-tokens-file $BROOKS_STATE/tokens.yaml
  BROOKS_API_TOKENS_FILE=$BROOKS_STATE/tokens.yaml brooks token new --customer acme.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := a.cfg.APITokensFile
			if path == "" {
				return usageError{errors.New("no api_tokens_file: give --api-tokens-file FILE (or BROOKS_API_TOKENS_FILE, or api_tokens_file in the config file)")}
			}
			if customer != "" {
				customers, err := a.customers()
				if err != nil {
					return usageError{err}
				}
				if _, err := customers.Get(customer); err != nil {
					return usageError{fmt.Errorf("--customer: %w", err)}
				}
			}
			tok, e, err := auth.NewToken(customer, admin, time.Now())
			if err != nil {
				return usageError{fmt.Errorf("give --customer C or --admin: %w", err)}
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return fmt.Errorf("tokens file folder: %w", err)
			}
			if err := auth.Append(path, e); err != nil {
				return err
			}
			a.log.Info("token added", "id", e.ID, "customer", e.Customer, "admin", e.Admin, "file", path)
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	newCmd.Flags().StringVar(&customer, "customer", "", "the customer the token reads")
	newCmd.Flags().BoolVar(&admin, "admin", false, "an admin token (every customer, /metrics, /v1/shadow/*)")
	cmd.AddCommand(newCmd)
	return cmd
}

// EnvAPIToken names the environment variable whose bearer token the
// command's query clients send (brooks compare, loadgen check, the proxy's
// comparer) to APIs with an api_tokens_file. It is read from the
// environment only: a secret is never a flag (visible in ps) nor a
// configuration value (echoed in errors), and it is never logged.
const EnvAPIToken = "BROOKS_API_TOKEN"

// clientOptions are the query clients' options: the token of
// $BROOKS_API_TOKEN, if set, and opts.
func clientOptions(opts ...query.ClientOption) []query.ClientOption {
	if tok := os.Getenv(EnvAPIToken); tok != "" {
		opts = append(opts, query.WithToken(tok))
	}
	return opts
}
