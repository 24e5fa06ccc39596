package provision

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/internal/delta"
	"github.com/creditx/creditx/pki"
	"go.yaml.in/yaml/v3"
)

// Realistic names of the sample agencies of development regions and the
// demo (issue 18: every listing used to be attributed to one English "(dev)"
// department). A province has 厅 departments (浙江省生态环境厅), a
// municipality directly under the central government and a city 局 bureaus
// (上海市生态环境局, 杭州市生态环境局); a city has no drug administration of
// its own, so its market regulator lists in food_drug. The names are
// samples: the USCCs are DevUSCC codes, not the real agencies'.

// placeName is the Chinese name of a member's division, and whether it is a
// province (厅) rather than a municipality or city (局).
func placeName(region string) (string, bool) {
	if m, ok := delta.Lookup(region); ok { // the Delta's members, internal/delta
		return m.Zh, m.Province() && region != "310000"
	}
	return "样例地区" + region, true
}

// devAgencyName is the name of the sample agency dir (admin, publisher,
// executor, auditor) of region.
func devAgencyName(region, dir string) string {
	place, province := placeName(region)
	office, dept := "市", "局"
	if province {
		office, dept = "省", "厅"
	}
	switch dir {
	case "admin":
		return place + "发展和改革委员会（" + office + "信用办）"
	case "publisher":
		return place + "生态环境" + dept
	case "executor":
		return place + "公共资源交易中心"
	case "auditor":
		return place + "审计" + dept
	}
	return place + dir
}

// DomainAuthority is a sample listing authority of one domain: its
// credentials directory under DATA/agencies, name and USCC body.
type DomainAuthority struct {
	Domain, Dir, Name, Body string
}

// DevDomainAuthorities returns the sample listing authority of each of the
// four key domains of region. Environment is the dev publisher (which may
// list in every domain, for the README and tests); the others get their own
// credentials from IssueDomainAuthorities.
func DevDomainAuthorities(region string) []DomainAuthority {
	place, province := placeName(region)
	dept := "局"
	if province {
		dept = "厅"
	}
	market := DomainAuthority{"product_quality", "market", place + "市场监督管理局", "MB000013"}
	drugs := DomainAuthority{"food_drug", "drugs", place + "药品监督管理局", "MB000012"}
	if !province && region != "310000" {
		drugs = DomainAuthority{"food_drug", "market", market.Name, market.Body}
	}
	return []DomainAuthority{
		{"environment", "publisher", devAgencyName(region, "publisher"), "MB000002"},
		{"tourism", "tourism", place + "文化和旅游" + dept, "MB000011"},
		drugs,
		market,
	}
}

// IssueDomainAuthorities gives the sample listing authorities of region
// (DevDomainAuthorities) other than the dev publisher a certificate from the
// region CA under dataDir/ca and a signing key (dataDir/agencies/<dir>),
// registers the keys through governance records signed by admin at the node
// at url, and returns every domain's credentials (environment: the
// publisher). For the demo and development: one operator holds the CA.
func IssueDomainAuthorities(ctx context.Context, dataDir, url string, admin *client.Credentials) (map[string]*client.Credentials, error) {
	region := admin.Identity.Region
	ca, err := pki.LoadCA(filepath.Join(dataDir, "ca"))
	if err != nil {
		return nil, err
	}
	out := map[string]*client.Credentials{}
	byDir := map[string]*client.Credentials{}
	var regs [][]byte
	domainsOf := map[string][]string{}
	for _, a := range DevDomainAuthorities(region) {
		domainsOf[a.Dir] = append(domainsOf[a.Dir], a.Domain)
	}
	for _, a := range DevDomainAuthorities(region) {
		adir := filepath.Join(dataDir, "agencies", a.Dir)
		if c, ok := byDir[a.Dir]; ok {
			out[a.Domain] = c
			continue
		}
		if a.Dir != "publisher" {
			id := pki.Identity{Role: pki.RolePublish, Region: region, Kind: pki.KindAgency, ID: DevUSCC(region, a.Body), Name: a.Name, Domains: domainsOf[a.Dir]}
			certPEM, keyPEM, err := ca.Issue(id, nil, 5*365*24*time.Hour)
			if err != nil {
				return nil, fmt.Errorf("issuing %s: %w", a.Name, err)
			}
			if err := pki.WriteCredentials(adir, certPEM, keyPEM, ca.CertPEM()); err != nil {
				return nil, err
			}
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				return nil, err
			}
			if err := client.WriteSignKey(filepath.Join(adir, "sign.key"), priv); err != nil {
				return nil, err
			}
			info, _ := yaml.Marshal(client.AgencyInfo{Name: a.Name, USCC: id.ID, Region: region, Role: string(id.Role), Domains: id.Domains})
			if err := os.WriteFile(filepath.Join(adir, "agency.yaml"), info, 0o644); err != nil {
				return nil, err
			}
		}
		c, err := client.LoadCredentials(adir)
		if err != nil {
			return nil, err
		}
		if a.Dir != "publisher" {
			reg, err := client.RegistrationRecord(region, admin, c)
			if err != nil {
				return nil, err
			}
			regs = append(regs, reg)
		}
		byDir[a.Dir], out[a.Domain] = c, c
	}
	if _, err := admin.Submit(ctx, url, regs...); err != nil {
		return nil, fmt.Errorf("registering the domain authorities: %w", err)
	}
	return out, nil
}
