// Command deployment checks a deployment file and prints its Region and account ("eu-south-1
// 123456789012"), for make deploy's preflight checks.
package main

import (
	"fmt"
	"os"

	"github.com/casellario-pec/casellario/infra/internal/deploy"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: deployment FILE")
		os.Exit(2)
	}
	d, err := deploy.Load(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if d.Local {
		fmt.Fprintf(os.Stderr, "%s is a local deployment (LocalStack): use make deploy-local\n", d.Path)
		os.Exit(1)
	}
	fmt.Println(d.Region, d.Account)
}
