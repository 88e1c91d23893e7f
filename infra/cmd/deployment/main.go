// Command deployment checks a deployment file and prints its Region and account ("eu-south-1
// 123456789012"), for make deploy's preflight checks.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: deployment FILE")
		return 2
	}
	d, err := deploy.Load(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if d.Local {
		fmt.Fprintf(stderr, "%s is a local deployment (LocalStack): use make deploy-local\n", d.Path)
		return 1
	}
	fmt.Fprintln(stdout, d.Region, d.Account)
	return 0
}
