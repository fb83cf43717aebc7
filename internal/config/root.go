package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RootMarker is the file whose presence marks a folder as the Brooks root
// (a checkout of the repository).
const RootMarker = "deploy/local/customers.yaml"

// FindRoot returns the Brooks root relative paths are resolved against, the
// first of:
//
//  1. BROOKS_ROOT, when set;
//  2. the checkout holding the running binary (bin/brooks → its repository):
//     the nearest parent folder of the executable containing RootMarker;
//  3. the checkout holding the current folder (for `go run` and `go test`,
//     whose binaries live in a temporary folder).
//
// So `bin/brooks` uses the same state from whatever folder it runs in.
func FindRoot() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		exe = ""
	}
	wd, _ := os.Getwd()
	return findRoot(os.Getenv("BROOKS_ROOT"), exe, wd)
}

func findRoot(env, exe, wd string) (string, error) {
	if env != "" {
		abs, err := filepath.Abs(env)
		if err != nil {
			return "", fmt.Errorf("BROOKS_ROOT %q: %w", env, err)
		}
		return abs, nil
	}
	if exe != "" {
		if r, ok := rootAbove(filepath.Dir(exe)); ok {
			return r, nil
		}
	}
	if wd != "" {
		if r, ok := rootAbove(wd); ok {
			return r, nil
		}
	}
	return "", errors.New("no Brooks root: neither the binary nor the current folder is inside a checkout (no " + RootMarker + " above them); set BROOKS_ROOT or give absolute paths")
}

// rootAbove walks up from dir to the first folder holding RootMarker.
func rootAbove(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, RootMarker)); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// resolvePaths makes the relative state, customers_file, archive_dir and
// api_tokens_file absolute against FindRoot; it needs a root only when one is relative.
func (c *Config) resolvePaths() error {
	paths := []*string{&c.StateDir, &c.CustomersFile, &c.ArchiveDir, &c.APITokensFile}
	relative := false
	for _, p := range paths {
		relative = relative || (*p != "" && !filepath.IsAbs(*p))
	}
	if !relative {
		return nil
	}
	root, err := FindRoot()
	if err != nil {
		return fmt.Errorf("relative paths (state %q, customers_file %q): %w", c.StateDir, c.CustomersFile, err)
	}
	c.Root = root
	for _, p := range paths {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(root, *p)
		}
	}
	return nil
}
