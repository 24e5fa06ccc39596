// Package delta is the membership of the Yangtze River Delta exchange as
// data: the four province-level divisions (上海市, 江苏省, 浙江省, 安徽省) and
// the prefecture-level cities of Jiangsu (13), Zhejiang (11) and Anhui (16),
// with their GB/T 2260 six-digit division codes and Chinese names.
//
// Guarantees (TestMembers): every code is six digits, unique, under one of
// the four provinces (31, 32, 33, 34); a province ends in 0000, a city in 00
// and not 0000; Jiangsu has 13 cities 320100..321300, Zhejiang 11
// 330100..331100, Anhui 16 (341400 巢湖 was abolished in 2011, so Anhui's
// codes skip it and 340900).
//
// The issue counts the Delta as 45 members, "4 provinces + 41 cities": the
// Delta's 41 cities are Shanghai plus the 40 prefecture-level cities, so the
// count holds Shanghai twice. Distinct divisions are 44; the 45th row is
// 310100 (上海市市辖区 in GB/T 2260), standing for Shanghai's city level so
// that N = 45 can be run. It is last, so any N <= 44 uses real members only.
package delta

// Member is one member of the Delta exchange.
type Member struct {
	Code string // GB/T 2260 division code, e.g. "330100"
	Zh   string // Chinese name, e.g. "杭州市"
	En   string // English (pinyin) name, e.g. "Hangzhou"
}

// Province reports whether m is a province-level division (code ends 0000).
func (m Member) Province() bool { return m.Code[2:] == "0000" }

// members: the four provinces, then Jiangsu's, Zhejiang's and Anhui's
// cities in code order, then the Shanghai city-level stand-in (see the
// package doc). Changing the order changes which members --members N picks.
var members = []Member{
	{"310000", "上海市", "Shanghai"},
	{"320000", "江苏省", "Jiangsu"},
	{"330000", "浙江省", "Zhejiang"},
	{"340000", "安徽省", "Anhui"},

	{"320100", "南京市", "Nanjing"},
	{"320200", "无锡市", "Wuxi"},
	{"320300", "徐州市", "Xuzhou"},
	{"320400", "常州市", "Changzhou"},
	{"320500", "苏州市", "Suzhou"},
	{"320600", "南通市", "Nantong"},
	{"320700", "连云港市", "Lianyungang"},
	{"320800", "淮安市", "Huai'an"},
	{"320900", "盐城市", "Yancheng"},
	{"321000", "扬州市", "Yangzhou"},
	{"321100", "镇江市", "Zhenjiang"},
	{"321200", "泰州市", "Taizhou (JS)"},
	{"321300", "宿迁市", "Suqian"},

	{"330100", "杭州市", "Hangzhou"},
	{"330200", "宁波市", "Ningbo"},
	{"330300", "温州市", "Wenzhou"},
	{"330400", "嘉兴市", "Jiaxing"},
	{"330500", "湖州市", "Huzhou"},
	{"330600", "绍兴市", "Shaoxing"},
	{"330700", "金华市", "Jinhua"},
	{"330800", "衢州市", "Quzhou"},
	{"330900", "舟山市", "Zhoushan"},
	{"331000", "台州市", "Taizhou (ZJ)"},
	{"331100", "丽水市", "Lishui"},

	{"340100", "合肥市", "Hefei"},
	{"340200", "芜湖市", "Wuhu"},
	{"340300", "蚌埠市", "Bengbu"},
	{"340400", "淮南市", "Huainan"},
	{"340500", "马鞍山市", "Ma'anshan"},
	{"340600", "淮北市", "Huaibei"},
	{"340700", "铜陵市", "Tongling"},
	{"340800", "安庆市", "Anqing"},
	{"341000", "黄山市", "Huangshan"},
	{"341100", "滁州市", "Chuzhou"},
	{"341200", "阜阳市", "Fuyang"},
	{"341300", "宿州市", "Suzhou (AH)"},
	{"341500", "六安市", "Lu'an"},
	{"341600", "亳州市", "Bozhou"},
	{"341700", "池州市", "Chizhou"},
	{"341800", "宣城市", "Xuancheng"},

	{"310100", "上海市市辖区", "Shanghai (city level)"},
}

// Max is the number of members in the table (45).
var Max = len(members)

// Members returns the first n members (all if n <= 0 or n > Max), a copy.
func Members(n int) []Member {
	if n <= 0 || n > len(members) {
		n = len(members)
	}
	return append([]Member(nil), members[:n]...)
}

// Lookup returns the member with code.
func Lookup(code string) (Member, bool) {
	for _, m := range members {
		if m.Code == code {
			return m, true
		}
	}
	return Member{}, false
}
