// Command kcp is a multi-call binary for driftwarden's test control plane: it runs etcd,
// kube-apiserver or kube-controller-manager, chosen by its first argument, each as its own
// process. The Kubernetes modes use the same cobra constructors as the upstream binaries,
// so every flag documented for kube-apiserver and kube-controller-manager works unchanged.
//
//	kcp etcd --data-dir DIR --listen-client-url http://127.0.0.1:P --listen-peer-url http://127.0.0.1:Q
//	kcp apiserver [kube-apiserver flags]
//	kcp controller-manager [kube-controller-manager flags]
//	kcp version
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // CronJob timeZone works whatever the host's tz database is

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as upstream
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as upstream
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as upstream
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kcp etcd|apiserver|controller-manager|version [flags]")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	dieWithParent()
	mode, rest := os.Args[1], os.Args[2:]
	var command *cobra.Command
	switch mode {
	case "etcd":
		os.Exit(runEtcd(rest))
	case "apiserver", "kube-apiserver":
		command = apiserver.NewAPIServerCommand()
	case "controller-manager", "kube-controller-manager":
		command = controllermanager.NewControllerManagerCommand()
	case "version":
		printVersion()
		return
	default:
		usage()
	}
	command.SetArgs(rest)
	os.Exit(cli.Run(command))
}
