package apitest

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
)

// examplesFile, when set (APITEST_EXAMPLES=path), receives the first successful JSON exchange of
// each operation as a line of JSON: a source of true request and response examples for
// openapi.yaml, taken from traffic the contract validated.
var (
	examplesFile = os.Getenv("APITEST_EXAMPLES")
	examplesSeen sync.Map
	examplesMu   sync.Mutex
)

type example struct {
	Operation string          `json:"operation"`
	Status    int             `json:"status"`
	Request   json.RawMessage `json:"request,omitempty"`
	Response  json.RawMessage `json:"response,omitempty"`
}

func recordExample(operation string, status int, reqType string, req []byte, respType string, resp []byte) {
	if examplesFile == "" || status < 200 || status >= 300 {
		return
	}
	if _, seen := examplesSeen.LoadOrStore(operation, true); seen {
		return
	}
	ex := example{Operation: operation, Status: status}
	if strings.Contains(reqType, "json") && json.Valid(req) {
		ex.Request = req
	}
	if strings.Contains(respType, "json") && json.Valid(resp) {
		ex.Response = resp
	}
	line, err := json.Marshal(ex)
	if err != nil {
		return
	}
	examplesMu.Lock()
	defer examplesMu.Unlock()
	f, err := os.OpenFile(examplesFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}
