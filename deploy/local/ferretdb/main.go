// Command ferretdb runs an embedded FerretDB v1 (MongoDB wire protocol) with
// the SQLite backend, for the Brooks local dev stack (deploy/local).
//
// The upstream cmd/ferretdb binary cannot be installed with `go install`
// (its module zip lacks build/version/version.txt and it panics at start),
// so the stack builds this tiny wrapper around the public ferretdb package.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address for the MongoDB wire protocol")
	dataDir := flag.String("data", "", "SQLite data directory (required)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	ping := flag.Bool("ping", false, "instead of serving, send {ping: 1} to -listen and exit 0 on an ok reply (health check)")
	flag.Parse()

	var err error
	if *ping {
		err = pingServer(*listen, 2*time.Second)
	} else {
		err = run(*listen, *dataDir, *logLevel)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dataDir, logLevel string) error {
	if dataDir == "" {
		return fmt.Errorf("-data is required")
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if err = os.MkdirAll(abs, 0o755); err != nil {
		return err
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("bad -log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Logger:    logger,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	logger.Warn("FerretDB starting", "listen", listen, "data", abs)
	if err = f.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	logger.Warn("FerretDB stopped")
	return nil
}
