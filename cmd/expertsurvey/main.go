// Command expertsurvey is the one binary of the service: `serve` runs the API; `user`,
// `import`, `backup` and `restore` manage data from the command line; `version` and `help` tell
// about the binary.
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
		if errors.Is(err, errUsage) {
			os.Exit(2) // the convention for a command line that could not be understood
		}
		fmt.Fprintln(os.Stderr, "expertsurvey:", err)
		os.Exit(1)
	}
}

// errUsage marks an error whose usage text was already printed; the binary exits 2.
var errUsage = errors.New("usage")

const usage = `expertsurvey: data collection behind comparative policy indices

Usage:
  expertsurvey serve [flags]        run the API; see 'expertsurvey serve -h' (--demo loads demo data)
  expertsurvey user add|list        manage users from the command line; see 'expertsurvey user -h'
  expertsurvey users import FILE [--dry-run]
                                    import users and assignments from CSV or XLSX; see 'expertsurvey users -h'
  expertsurvey users copy-assignments --from R --to R [--dry-run]
                                    give a new round the assignments of a previous one
  expertsurvey round create|open|close|list
                                    manage rounds as the API does; see 'expertsurvey round -h'
  expertsurvey import questionnaire FILE [--publish] [--version V]
                                    import a definition file (YAML, JSON, XLSX) as a new version
  expertsurvey import answers --round R FILE
                                    back-fill a round's answers from CSV or XLSX; see 'expertsurvey import -h'
  expertsurvey export --round R --format xlsx|csv|json --shape long|wide|codebook [-o FILE]
                                    export a round for researchers; see 'expertsurvey export -h'
  expertsurvey backup -o FILE       write every collection to a compressed archive with checksums
  expertsurvey restore FILE [--force]
                                    load an archive into an empty database; see 'expertsurvey backup -h'
  expertsurvey version              print the version of this build
  expertsurvey help                 this text

Every command but help and version takes the store flags of serve (--mongodb-uri, --database,
--data-dir, --store-addr) and their environment variables.
`

// run is the whole program, with its environment passed in so that tests can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		// The bare binary used to start a server; a command is now required, so that a
		// mistyped deployment fails loudly instead of serving with defaults.
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "user":
		return userCommand(ctx, args, getenv, stdout, stderr)
	case "users":
		return usersCommand(ctx, args, getenv, stdout, stderr)
	case "round":
		return roundCommand(ctx, args, getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, args, getenv, stdout, stderr)
	case "export":
		return exportCmd(ctx, args, getenv, stdout, stderr)
	case "backup":
		return backupCmd(ctx, args, getenv, stdout, stderr)
	case "restore":
		return restoreCmd(ctx, args, getenv, stdout, stderr)
	case "version", "--version":
		return versionCmd(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}
