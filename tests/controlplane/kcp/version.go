package main

import (
	"fmt"

	"go.etcd.io/etcd/api/v3/version"
	k8sversion "k8s.io/component-base/version"
)

func printVersion() {
	fmt.Printf("kubernetes %s\netcd %s\n", k8sversion.Get().GitVersion, version.Version)
}
