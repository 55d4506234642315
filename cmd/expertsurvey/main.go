// Command expertsurvey is the one binary of the service: `serve` (the default) runs the API;
// `user` and `import` manage data from the command line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "expertsurvey:", err)
		}
		os.Exit(1)
	}
}

// errUsage marks an error whose usage text was already printed.
var errUsage = errors.New("usage")

const usage = `expertsurvey: data collection behind comparative policy indices

Usage:
  expertsurvey [serve] [flags]      run the API (the default); see 'expertsurvey serve -h'
  expertsurvey user add|list        manage users from the command line; see 'expertsurvey user -h'
  expertsurvey import questionnaire FILE [--publish] [--version V]
                                    import a definition file (YAML, JSON, XLSX) as a new version
  expertsurvey help                 this text
`

// run is the whole program, with its environment passed in so that tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, args, getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}
