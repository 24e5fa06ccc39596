package pki_test

import (
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/hashicorp/raft"

	"github.com/creditx/creditx/pki"
)

// A region CA issues a publishing agency its certificate; the identity is
// read back from the certificate as a node's admission would.
func Example() {
	ca, err := pki.NewCA("330000", "Zhejiang credit office", time.Now(), 10*365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.Identity{
		Role:    pki.RolePublish,
		Region:  "330000",
		Kind:    pki.KindAgency,
		ID:      "91330000002482032M",
		Name:    "Zhejiang ecology and environment department",
		Domains: []string{"environment"},
	}, nil, 365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	id, err := pki.IdentityFromCert(pair.Leaf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pair.Leaf.URIs[0])
	fmt.Println(id.Role, id.Region, id.Domains, id.Name)
	// Output:
	// creditx://330000/agency/91330000002482032M?role=publish&domain=environment
	// publish 330000 [environment] Zhejiang ecology and environment department
}

func ExampleIdentityFromURI() {
	_, err := pki.IdentityFromURI("creditx://330000/agency/91330000002482032M?role=publish")
	fmt.Println(err)
	id, err := pki.IdentityFromURI("creditx://330000/replica/zj-1?role=replica")
	fmt.Println(id.Kind, id.ID, err)
	// Output:
	// pki: identity domain: role publish needs at least one domain
	// replica zj-1 <nil>
}

// Wiring a replica's raft transport: both directions require a replica
// certificate of the same region.
func ExampleNewTLSStreamLayer() {
	cert, regionCA, err := pki.LoadCredentials("/etc/creditx/replica")
	if err != nil {
		log.Fatal(err)
	}
	peer, err := pki.PeerConfig(cert, regionCA)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", ":7000")
	if err != nil {
		log.Fatal(err)
	}
	advertise, err := net.ResolveTCPAddr("tcp", "zj-1.example:7000")
	if err != nil {
		log.Fatal(err)
	}
	transport := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  pki.NewTLSStreamLayer(ln, advertise, peer, peer),
		MaxPool: 3,
		Timeout: 10 * time.Second,
	})
	defer transport.Close()
}
