package api_test

import (
	"testing"

	"github.com/expertsurvey/expertsurvey/mongodb/mongodbtest"
)

// TestMain shares one embedded store among the API tests (each gets its own database) and
// stops it when they end.
func TestMain(m *testing.M) { mongodbtest.Main(m) }
