// kstatus reads Kubernetes objects as JSON (one per line, or one document on stdin) and
// prints what sigs.k8s.io/cli-utils' kstatus computes for each, one JSON line per object:
//
//	{"status":"Current","message":"Resource is current"}
//
// The same library Flux's health checks and `kubectl wait`-style tools read. Built by
// ../build-kstatus.sh from the pinned go.mod/go.sum beside this file.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	decoder := json.NewDecoder(bufio.NewReader(os.Stdin))
	out := json.NewEncoder(os.Stdout)
	for decoder.More() {
		var object map[string]interface{}
		if err := decoder.Decode(&object); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: cannot read an object: %v\n", err)
			os.Exit(2)
		}
		res, err := status.Compute(&unstructured.Unstructured{Object: object})
		line := result{}
		if err != nil {
			line.Error = err.Error()
		} else {
			line.Status = res.Status.String()
			line.Message = res.Message
		}
		if err := out.Encode(line); err != nil {
			os.Exit(1)
		}
	}
}
