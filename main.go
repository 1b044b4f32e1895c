// Command fleetdeck is a terminal fleet console. See README.md.
package main

import (
	"os"

	"github.com/fleetdeck/fleetdeck/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
