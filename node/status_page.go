package node

import "github.com/creditx/creditx/api"

// Wire types of this file's endpoints (package api).
type (
	ReplicaHealth = api.ReplicaHealth
)
