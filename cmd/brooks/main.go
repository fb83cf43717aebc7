// Command brooks is the one binary of the Brooks dual-run migration
// platform; every component is a subcommand.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args[1:]))
}
