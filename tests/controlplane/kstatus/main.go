// kstatus reads Kubernetes objects as JSON, one per line on stdin, and prints what sigs.k8s.io/cli-utils' kstatus computes for each, one JSON line per object:
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
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	lines := bufio.NewScanner(os.Stdin)
	lines.Buffer(make([]byte, 1<<20), 64<<20)
	out := json.NewEncoder(os.Stdout)
	for lines.Scan() {
		if len(lines.Bytes()) == 0 {
			continue
		}
		// apimachinery's decoder keeps whole numbers int64, as unstructured objects need.
		var object map[string]interface{}
		if err := utiljson.Unmarshal(lines.Bytes(), &object); err != nil {
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
	if err := lines.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(2)
	}
}
