package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/expertsurvey/expertsurvey"
)

// Classify wraps a store failure that is nobody's bug in the shared sentinel that names it, so
// that the API can answer "try again" (503) or "out of space" (507) instead of a 500:
//
//   - the server could not be selected in time, a connection broke, or an operation ran out of
//     its time budget: expertsurvey.ErrStoreUnavailable;
//   - the embedded store's SQLite reported a full disk (SQLITE_FULL, "database or disk is full")
//     or the OS said ENOSPC, which reach the driver only as text of a command error:
//     expertsurvey.ErrStoreFull.
//
// A cancelled context is left as it is: the client went away, the store is fine. Every other
// error is returned unchanged.
func Classify(err error) error {
	if err == nil || errors.Is(err, context.Canceled) ||
		errors.Is(err, expertsurvey.ErrStoreUnavailable) || errors.Is(err, expertsurvey.ErrStoreFull) {
		return err
	}
	if isDiskFull(err) {
		return fmt.Errorf("%w: %w", expertsurvey.ErrStoreFull, err)
	}
	if isUnavailable(err) {
		return fmt.Errorf("%w: %w", expertsurvey.ErrStoreUnavailable, err)
	}
	return err
}

func isUnavailable(err error) bool {
	var sel topology.ServerSelectionError
	var conn topology.ConnectionError
	return errors.As(err, &sel) || errors.As(err, &conn) || mongo.IsTimeout(err) || mongo.IsNetworkError(err)
}

// diskFullTexts are how a full disk shows through FerretDB: it passes SQLite's and the OS's
// messages on in the command error's text.
var diskFullTexts = []string{"database or disk is full", "no space left on device", "sqlite_full"}

func isDiskFull(err error) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, t := range diskFullTexts {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}
