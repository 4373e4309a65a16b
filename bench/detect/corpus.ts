/**
 * Labelled evaluation corpus for @pipa/detect, generated from a seed (reproducible): Chinese prose,
 * application logs, CSV exports and JSON API payloads with planted values of every detector type
 * (checksums computed, so each planted value is valid) and hard negatives (order numbers,
 * timestamps, prices, tracking numbers, version strings, trace ids, values with a wrong checksum).
 * Each document carries the exact spans of its planted values. Nothing here is copied from real
 * people: every value is drawn from the PRNG.
 */

export type LabelType =
  | 'id-card'
  | 'foreign-permanent-residence'
  | 'residence-permit'
  | 'phone'
  | 'landline'
  | 'bank-card'
  | 'credit-code'
  | 'passport'
  | 'hk-macao-permit'
  | 'licence-plate'
  | 'email'
  | 'ipv4'
  | 'ipv6'
  | 'mac'
  | 'imei'
  | 'imsi'
  | 'meid'
  | 'idfa'
  | 'idfv'
  | 'oaid'
  | 'android-id'
  | 'url-credentials'
  | 'name'
  | 'address';

export interface Label {
  type: LabelType;
  start: number;
  end: number;
  text: string;
}

export interface CorpusDoc {
  kind: 'prose' | 'log' | 'csv' | 'json';
  text: string;
  labels: Label[];
}

/** mulberry32: small, fast, good enough for test data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(readonly r: () => number) {}
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)] as T;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
  hex(n: number, upper = false): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(0, 15)];
    return upper ? s.toUpperCase() : s;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
}

// ---------- checksums (independent of @pipa/detect, so the corpus does not grade itself) ----------

function luhnDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function idCheck(first17: string): string {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let s = 0;
  for (let i = 0; i < 17; i++) s += Number(first17[i]) * (w[i] ?? 0);
  return '10X98765432'[s % 11] ?? '0';
}

const CC = '0123456789ABCDEFGHJKLMNPQRTUWXY';
function creditCheck(first17: string): string {
  const w = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  let s = 0;
  for (let i = 0; i < 17; i++) s += CC.indexOf(first17[i] ?? '0') * (w[i] ?? 0);
  return CC[(31 - (s % 31)) % 31] ?? '0';
}

// ---------- value generators ----------

const REGIONS = [
  '110101',
  '110105',
  '110108',
  '120101',
  '130102',
  '140105',
  '210102',
  '210106',
  '220102',
  '230103',
  '310104',
  '310115',
  '320102',
  '320506',
  '330106',
  '330203',
  '340104',
  '350203',
  '360102',
  '370202',
  '410102',
  '410105',
  '420106',
  '430104',
  '440106',
  '440305',
  '450103',
  '460105',
  '500103',
  '510107',
  '520102',
  '530102',
  '610113',
  '620102',
  '650102',
];

function birth(g: Gen): string {
  const y = g.int(1950, 2006);
  const m = g.int(1, 12);
  const d = g.int(1, 28);
  return `${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
}

export function genIdCard(g: Gen, region = g.pick(REGIONS)): string {
  const body = region + birth(g) + g.digits(3);
  return body + idCheck(body);
}

function genIdCardBadCheck(g: Gen): string {
  const good = genIdCard(g);
  const wrong = '0123456789X'.replace(good[17] ?? '', '');
  return good.slice(0, 17) + (wrong[g.int(0, wrong.length - 1)] ?? '0');
}

function genForeign(g: Gen): string {
  const body = `9${g.pick(['11', '31', '44', '51'])}${g.pick(['840', '826', '392', '410', '276', '250'])}${birth(g)}${g.digits(2)}`;
  // 1 + 2 + 3 + 8 + 2 = 16: one more sequence digit makes 17
  const b17 = body + g.digits(1);
  return b17 + idCheck(b17);
}

function genResidencePermit(g: Gen): string {
  const body = g.pick(['810000', '820000', '830000']) + birth(g) + g.digits(3);
  return body + idCheck(body);
}

const MOBILE = [
  '130',
  '131',
  '132',
  '133',
  '135',
  '136',
  '137',
  '138',
  '139',
  '147',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '166',
  '173',
  '176',
  '177',
  '180',
  '181',
  '182',
  '183',
  '185',
  '186',
  '187',
  '188',
  '189',
  '191',
  '198',
  '199',
];

function fullWidth(s: string): string {
  return s.replace(/[0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

function genPhone(g: Gen): string {
  const p = g.pick(MOBILE);
  const a = g.digits(4);
  const b = g.digits(4);
  const f = g.int(0, 9);
  if (f <= 4) return `${p}${a}${b}`;
  if (f === 5) return `${p} ${a} ${b}`;
  if (f === 6) return `${p}-${a}-${b}`;
  if (f === 7) return `+86 ${p} ${a} ${b}`;
  if (f === 8) return `+86${p}${a}${b}`;
  return fullWidth(`${p}${a}${b}`);
}

function genLandline(g: Gen): string {
  const area = g.pick([
    '010',
    '021',
    '020',
    '022',
    '023',
    '024',
    '025',
    '027',
    '028',
    '029',
    '0755',
    '0571',
    '0371',
    '0531',
    '0532',
    '0731',
    '0591',
    '0898',
  ]);
  const local = String(g.int(2, 8)) + g.digits(area.length === 3 ? 7 : g.chance(0.8) ? 7 : 6);
  const f = g.int(0, 3);
  if (f === 0) return `${area}-${local}`;
  if (f === 1) return `(${area})${local}`;
  if (f === 2) return `${area} ${local.slice(0, 4)} ${local.slice(4)}`;
  return `${area}-${local}`;
}

function genCardDigits(g: Gen): string {
  const f = g.int(0, 9);
  if (f <= 6) {
    const len = g.pick([16, 16, 19, 19, 18, 17]);
    const payload = `62${g.pick(['2202', '2848', '2700', '1700', '2588', '1483', '2609', '1226', '5880', '2908'])}${g.digits(len - 7)}`;
    return payload + luhnDigit(payload);
  }
  const payload = g.chance(0.5) ? `4${g.digits(14)}` : `5${g.int(1, 5)}${g.digits(13)}`;
  return payload + luhnDigit(payload);
}

function groupCard(g: Gen, d: string): string {
  const f = g.int(0, 3);
  if (f === 0) return d.replace(/(\d{4})(?=\d)/g, '$1 ');
  if (f === 1) return d.replace(/(\d{4})(?=\d)/g, '$1-');
  return d;
}

function genCreditCode(g: Gen): string {
  let body = `${g.pick(['9', '9', '9', '1', '5'])}${g.pick(['1', '2', '3'])}${g.pick(REGIONS)}`;
  for (let i = 0; i < 9; i++) body += CC[g.int(0, 30)];
  return body + creditCheck(body);
}

const PLATE_PROV = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川';
const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
function genPlate(g: Gen): string {
  const prov = PLATE_PROV[g.int(0, PLATE_PROV.length - 1)] ?? '京';
  const letter = PLATE_LETTERS[g.int(0, 12)] ?? 'A';
  const f = g.int(0, 4);
  if (f === 0) return `${prov}${letter}D${g.digits(5)}`.slice(0, 8);
  if (f === 1) return `${prov}${letter}${g.digits(5)}F`;
  let body = '';
  for (let i = 0; i < 5; i++) body += i === 1 && g.chance(0.3) ? PLATE_LETTERS[g.int(0, 23)] : g.digits(1);
  return f === 2 ? `${prov}${letter}·${body}` : `${prov}${letter}${body}`;
}

const PINYIN = [
  'zhang',
  'wang',
  'li',
  'liu',
  'chen',
  'yang',
  'huang',
  'zhao',
  'wu',
  'zhou',
  'xu',
  'sun',
  'ma',
  'zhu',
  'hu',
  'guo',
  'lin',
  'he',
  'gao',
  'luo',
];
const GIVEN_PY = [
  'wei',
  'fang',
  'na',
  'min',
  'jing',
  'li',
  'qiang',
  'lei',
  'jun',
  'yang',
  'yong',
  'yan',
  'jie',
  'juan',
  'tao',
  'ming',
  'chao',
  'xiu',
  'xia',
  'ping',
];
function genEmail(g: Gen): string {
  const local = g.pick([
    () => `${g.pick(PINYIN)}${g.pick(GIVEN_PY)}${g.int(1, 99)}`,
    () => `${g.pick(PINYIN)}.${g.pick(GIVEN_PY)}`,
    () => g.digits(g.int(6, 10)).replace(/^0/, '1'),
    () => `${g.pick(GIVEN_PY)}_${g.pick(PINYIN)}`,
  ])();
  return `${local}@${g.pick(['qq.com', '163.com', '126.com', 'gmail.com', 'sina.com', 'example.cn', 'corp.example.com', 'foxmail.com'])}`;
}

function genIpv4(g: Gen): string {
  const a = g.pick([
    1, 14, 27, 36, 39, 42, 58, 59, 60, 61, 101, 106, 110, 111, 112, 113, 114, 116, 117, 119, 120, 121, 122, 123, 124, 125, 180, 182, 183,
    202, 210, 211, 218, 219, 220, 221, 222, 223,
  ]);
  return `${a}.${g.int(0, 255)}.${g.int(0, 255)}.${g.int(1, 254)}`;
}

function genIpv6(g: Gen): string {
  const groups = Array.from({ length: 8 }, () => g.hex(g.int(1, 4)).replace(/^0+(?=.)/, ''));
  groups[0] = g.pick(['2001', '240e', '2408', '2409', 'fe80']);
  if (g.chance(0.5)) return `${groups.slice(0, 3).join(':')}::${groups.slice(6).join(':')}`;
  return groups.join(':');
}

function genMac(g: Gen): string {
  const first = (g.int(0, 63) * 4).toString(16).padStart(2, '0');
  const oct = [first, ...Array.from({ length: 5 }, () => g.hex(2))];
  const upper = g.chance(0.5);
  const s = oct.join(g.chance(0.8) ? ':' : '-');
  return upper ? s.toUpperCase() : s;
}

function genImei(g: Gen): string {
  const payload = `${g.pick(['86', '35', '35', '86', '01', '99'])}${g.digits(12)}`;
  return payload + luhnDigit(payload);
}

function genImsi(g: Gen): string {
  return `460${g.pick(['00', '01', '02', '03', '07', '11'])}${g.digits(10)}`;
}

function genMeid(g: Gen): string {
  let s = `A${g.pick(['0', '1'])}`;
  s += g.hex(12, true);
  if (!/[A-F]/.test(s.slice(1))) s = `${s.slice(0, 5)}B${s.slice(6)}`;
  return s;
}

function genUuid(g: Gen, upper: boolean): string {
  const s = `${g.hex(8)}-${g.hex(4)}-4${g.hex(3)}-${'89ab'[g.int(0, 3)]}${g.hex(3)}-${g.hex(12)}`;
  return upper ? s.toUpperCase() : s;
}

function genAndroidId(g: Gen): string {
  let s = g.hex(16);
  if (!/[a-f]/.test(s)) s = `a${s.slice(1)}`;
  if (!/[0-9]/.test(s)) s = `${s.slice(0, 15)}7`;
  return s;
}

function genPassport(g: Gen): string {
  return g.chance(0.6) ? `E${g.digits(8)}` : `E${'ABCDEFGHJKLMNPQRSTUVWXYZ'[g.int(0, 23)]}${g.digits(7)}`;
}

function genPermit(g: Gen): string {
  return g.chance(0.7) ? `C${g.digits(8)}` : `C${'ABCDEFGHJKLMNPQRSTUVWXYZ'[g.int(0, 23)]}${g.digits(7)}`;
}

function genUrlCred(g: Gen): string {
  const scheme = g.pick(['mysql', 'postgres', 'redis', 'https', 'ftp', 'mongodb']);
  const user = g.pick(['root', 'admin', 'app', 'deploy', g.pick(PINYIN)]);
  const pass = g.pick(['P@ss', 'Secr3t', 'abc', 'Tk9x', 'Qwe']) + g.digits(4);
  const host = `${g.pick(['db', 'cache', 'files', 'api'])}${g.int(1, 9)}.${g.pick(['internal', 'example.com', 'corp.example.cn'])}`;
  return `${scheme}://${user}:${pass.replace('@', '%40')}@${host}`;
}

const SURNAMES =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN =
  '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志文斌宇浩凯晨欣怡婷雪琳子涵梓轩思雨佳宁博文俊杰一鸣海燕丹梅';

function genName(g: Gen): string {
  const compound = g.chance(0.04);
  const s = compound ? g.pick(['欧阳', '司马', '诸葛', '上官']) : (SURNAMES[g.int(0, SURNAMES.length - 1)] ?? '王');
  const n = g.chance(0.6) ? 2 : 1;
  let given = '';
  for (let i = 0; i < n; i++) given += GIVEN[g.int(0, GIVEN.length - 1)];
  return s + given;
}

const ADMIN: readonly (readonly [string, string, readonly string[]])[] = [
  ['北京市', '', ['海淀区', '朝阳区', '东城区', '丰台区']],
  ['上海市', '', ['浦东新区', '徐汇区', '静安区', '闵行区']],
  ['广东省', '深圳市', ['南山区', '福田区', '宝安区']],
  ['广东省', '广州市', ['天河区', '越秀区', '番禺区']],
  ['辽宁省', '沈阳市', ['和平区', '沈河区', '浑南区']],
  ['河南省', '郑州市', ['二七区', '金水区', '中原区']],
  ['浙江省', '杭州市', ['西湖区', '滨江区', '余杭区']],
  ['四川省', '成都市', ['武侯区', '锦江区', '高新区']],
  ['湖北省', '武汉市', ['洪山区', '江汉区', '武昌区']],
  ['江苏省', '南京市', ['鼓楼区', '玄武区', '江宁区']],
  ['山东省', '青岛市', ['市南区', '崂山区', '黄岛区']],
  ['陕西省', '西安市', ['雁塔区', '碑林区', '未央区']],
];
const ROADS = [
  '人民路',
  '中山路',
  '解放路',
  '建设路',
  '南京北街',
  '长江路',
  '科技园南路',
  '文化路',
  '和平大街',
  '花园路',
  '滨江大道',
  '学府路',
  '青年大街',
  '工业大道',
  '新华路',
  '东风路',
  '金水路',
  '迎宾大道',
];
const POIS = ['阳光花园', '幸福小区', '金色家园', '国贸大厦', '万科城', '绿地广场', '锦绣苑', '华府小区'];

function genAddress(g: Gen): string {
  const [prov, city, districts] = g.pick(ADMIN);
  const district = g.pick(districts);
  const withProv = g.chance(0.7);
  let s = (withProv || !city ? prov : '') + city + district;
  s += g.pick(ROADS) + `${g.int(1, 999)}号`;
  const f = g.int(0, 3);
  if (f === 0) s += `${g.pick(POIS)}${g.int(1, 30)}栋${g.int(1, 6)}单元${g.int(1, 32)}0${g.int(1, 4)}室`;
  else if (f === 1) s += `${g.int(1, 30)}号楼${g.int(1, 28)}0${g.int(1, 6)}室`;
  else if (f === 2) s += `${g.pick(POIS)}${g.int(1, 20)}-${g.int(1, 6)}-${g.int(1, 30)}0${g.int(1, 4)}`;
  return s;
}

// ---------- hard negatives ----------

function negative(g: Gen): string {
  return g.pick([
    () => `订单号${g.pick(['', '：', ' '])}${g.pick(['2024', '2025'])}${g.digits(g.int(14, 16))}`,
    () => `订单编号 ${g.digits(19)}`,
    () => `交易流水号：${g.digits(18)}`,
    () => `时间戳 ${g.int(1600000000, 1800000000)}${g.digits(3)}`,
    () => `价格 ¥${g.int(1, 9999)}.${g.digits(2)}，优惠 ${g.int(1, 99)} 元`,
    () => `快递单号 SF${g.digits(12)}`,
    () => `运单号：${g.pick(['YT', 'JD', 'ZT'])}${g.digits(13)}`,
    () => `物流单号 ${g.pick(['7', '5', '3'])}${g.digits(14)}`,
    () => `版本 ${g.int(1, 12)}.${g.int(0, 9)}.${g.int(0, 30)}.${g.int(100, 999)}`,
    () => `traceId=${g.hex(32)}`,
    () => `商品编码 ${g.digits(13)}`,
    () => `金额 ${g.int(100000, 99999999)}.00 元`,
    () =>
      `日期 ${g.int(2019, 2025)}-${String(g.int(1, 12)).padStart(2, '0')}-${String(g.int(1, 28)).padStart(2, '0')} ${String(g.int(0, 23)).padStart(2, '0')}:${String(g.int(0, 59)).padStart(2, '0')}:${String(g.int(0, 59)).padStart(2, '0')}`,
    () => `身份证号校验失败：${genIdCardBadCheck(g)}`,
    () =>
      `券码 ${(() => {
        const p = `62${g.digits(15)}`;
        const good = luhnDigit(p);
        return p + String((Number(good) + g.int(1, 9)) % 10);
      })()}`,
    () => `会议室 ${g.int(1, 30)}0${g.int(1, 9)}，${g.int(1, 12)} 月 ${g.int(1, 28)} 日`,
    () => `发票号码 ${g.digits(20)}`,
    () => `工单 ${g.digits(11).replace(/^./, '1')}`.replace(/^工单 1[3-9]/, '工单 12'),
    () => `请求耗时 ${g.int(1, 9999)} ms，共 ${g.int(1, 99999)} 条`,
    () => `uuid ${genUuid(g, false)}`,
    () => `统计口径：${g.pick(['高速公路', '黄金价格', '周末出行', '方便面', '金额合计', '林业用地', '马上到账', '常见问题'])}`,
    () => `${g.pick(['北京市人民政府', '上海市第一人民医院', '广东省气象局', '深圳市南山区人民法院'])}发布通知`,
    () => `MEID 校验 ${g.digits(5)}`,
  ])();
}

const FILLER = [
  '感谢您使用本平台的服务。',
  '系统将在今晚进行例行维护，届时部分功能暂不可用。',
  '本次活动最终解释权归主办方所有。',
  '如有疑问请联系在线客服。',
  '您的申请已提交，请耐心等待审核结果。',
  '演出当天请提前三十分钟入场。',
  '退款将在七个工作日内原路退回。',
  '请妥善保管您的账号和密码。',
  '我们重视您的个人信息保护。',
  '该商品暂时缺货，到货后将第一时间通知。',
];

// ---------- planting ----------

class Doc {
  text = '';
  labels: Label[] = [];
  add(s: string): this {
    this.text += s;
    return this;
  }
  plant(type: LabelType, value: string): this {
    const start = this.text.length;
    this.text += value;
    this.labels.push({ type, start, end: this.text.length, text: value });
    return this;
  }
}

type Planter = (d: Doc, g: Gen) => void;

/** Prose sentences that carry one value each, with the context people write around it. */
const PROSE: readonly Planter[] = [
  (d, g) =>
    d
      .add(g.pick(['身份证号：', '身份证号码 ', '证件号码：', '公民身份号码']))
      .plant('id-card', genIdCard(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['请核对乘机人证件 ', '实名信息 ']))
      .plant('id-card', genIdCard(g))
      .add('，如有误请修改。'),
  (d, g) => d.add('外国人永久居留身份证号码：').plant('foreign-permanent-residence', genForeign(g)).add('。'),
  (d, g) => d.add('港澳台居民居住证号码 ').plant('residence-permit', genResidencePermit(g)).add('。'),
  (d, g) =>
    d
      .add(g.pick(['手机号', '联系电话：', '手机：', '请致电 ', '电话']))
      .plant('phone', genPhone(g))
      .add(g.pick(['。', '，谢谢。', ' 联系。'])),
  (d, g) => d.add('我们已将验证码发送至 ').plant('phone', genPhone(g)).add('，请查收。'),
  (d, g) =>
    d
      .add(g.pick(['办公电话：', '座机 ', '客服热线 ', '传真：']))
      .plant('landline', genLandline(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['银行卡号：', '卡号 ', '收款账号：', '您尾号变更后的储蓄卡 ']))
      .plant('bank-card', groupCard(g, genCardDigits(g)))
      .add('。'),
  (d, g) => d.add('退款将原路退回至 ').plant('bank-card', genCardDigits(g)).add(' 对应账户。'),
  (d, g) =>
    d
      .add(g.pick(['统一社会信用代码：', '信用代码 ', '纳税人识别号：']))
      .plant('credit-code', genCreditCode(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['护照号码：', '护照号 ', 'Passport No. ']))
      .plant('passport', genPassport(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['港澳通行证号码：', '往来港澳通行证 ']))
      .plant('hk-macao-permit', genPermit(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['车牌号：', '车辆 ', '您的爱车 ']))
      .plant('licence-plate', genPlate(g))
      .add(g.pick(['已入场。', '。'])),
  (d, g) =>
    d
      .add(g.pick(['邮箱：', '电子邮件 ', '请发送至 ']))
      .plant('email', genEmail(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['登录 IP：', '本次登录地址 IP ', '客户端IP ']))
      .plant('ipv4', genIpv4(g))
      .add('。'),
  (d, g) => d.add('IPv6 地址 ').plant('ipv6', genIpv6(g)).add('。'),
  (d, g) =>
    d
      .add(g.pick(['设备 MAC 地址：', 'Wi-Fi MAC ']))
      .plant('mac', genMac(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['IMEI：', '设备串号 IMEI ', 'IMEI号']))
      .plant('imei', genImei(g))
      .add('。'),
  (d, g) =>
    d
      .add(g.pick(['IMSI：', 'SIM 卡 IMSI ']))
      .plant('imsi', genImsi(g))
      .add('。'),
  (d, g) => d.add('MEID：').plant('meid', genMeid(g)).add('。'),
  (d, g) => d.add('广告标识符 IDFA ').plant('idfa', genUuid(g, true)).add('。'),
  (d, g) => d.add('IDFV：').plant('idfv', genUuid(g, true)).add('。'),
  (d, g) =>
    d
      .add('OAID ')
      .plant('oaid', g.chance(0.5) ? genUuid(g, false) : g.hex(16))
      .add('。'),
  (d, g) => d.add('Android ID：').plant('android-id', genAndroidId(g)).add('。'),
  (d, g) => d.add('配置中的连接串 ').plant('url-credentials', genUrlCred(g)).add(' 已泄露。'),
  (d, g) =>
    d
      .add(g.pick(['收货人：', '联系人', '姓名：', '持卡人 ', '患者 ']))
      .plant('name', genName(g))
      .add(g.pick(['，', '。', ' '])),
  (d, g) =>
    d
      .plant('name', genName(g))
      .add(g.pick(['先生', '女士']))
      .add('您好，您的订单已发货。'),
  (d, g) => {
    d.add('收件人 ').plant('name', genName(g)).add(' ').plant('phone', genPhone(g)).add('，');
  },
  (d, g) =>
    d
      .add(g.pick(['收货地址：', '家庭住址：', '地址：', '寄往 ', '现住 ']))
      .plant('address', genAddress(g))
      .add('。'),
  (d, g) => d.add('我们的门店位于').plant('address', genAddress(g)).add('，欢迎光临。'),
];

function prose(g: Gen, target: number): CorpusDoc {
  const d = new Doc();
  while (d.text.length < target) {
    const f = g.int(0, 9);
    if (f < 5) g.pick(PROSE)(d, g);
    else if (f < 8) d.add(g.pick(FILLER));
    else d.add(`${negative(g)}。`);
    if (g.chance(0.1)) d.add('\n');
  }
  return { kind: 'prose', text: d.text, labels: d.labels };
}

function logs(g: Gen, target: number): CorpusDoc {
  const d = new Doc();
  let ts = 1_700_000_000_000 + g.int(0, 10_000_000);
  while (d.text.length < target) {
    ts += g.int(1, 5000);
    const date = new Date(ts).toISOString().replace('T', ' ').replace('Z', '');
    d.add(
      `${date} ${g.pick(['INFO', 'WARN', 'DEBUG', 'ERROR'])} [${g.pick(['http', 'auth', 'order', 'push', 'sdk'])}-${g.int(1, 8)}] req=${g.hex(16)} `,
    );
    const f = g.int(0, 13);
    if (f === 0) d.add('login ok phone=').plant('phone', genPhone(g)).add(' ip=').plant('ipv4', genIpv4(g));
    else if (f === 1)
      d.add('device report imei=')
        .plant('imei', genImei(g))
        .add(' imsi=')
        .plant('imsi', genImsi(g))
        .add(' android_id=')
        .plant('android-id', genAndroidId(g));
    else if (f === 2) d.add('ios attribution idfa=').plant('idfa', genUuid(g, true)).add(' idfv=').plant('idfv', genUuid(g, true));
    else if (f === 3) d.add('oaid=').plant('oaid', genUuid(g, false)).add(' mac=').plant('mac', genMac(g));
    else if (f === 4) d.add('kyc submit id_card=').plant('id-card', genIdCard(g)).add(' name=').plant('name', genName(g));
    else if (f === 5)
      d.add('pay bind card_no=')
        .plant('bank-card', genCardDigits(g))
        .add(` amount=${g.int(1, 9999)}.${g.digits(2)}`);
    else if (f === 6)
      d.add('GET /api/v1/orders/')
        .add(g.digits(19))
        .add(` 200 ${g.int(1, 999)}ms client=`)
        .plant('ipv6', genIpv6(g));
    else if (f === 7)
      d.add('mail sent to=')
        .plant('email', genEmail(g))
        .add(` template=${g.int(100, 999)}`);
    else if (f === 8) d.add('db connect url=').plant('url-credentials', genUrlCred(g)).add(' failed: timeout');
    else if (f === 9) d.add(`order created order_id=${g.digits(18)} sku=${g.digits(13)} ts=${ts}`);
    else if (f === 10)
      d.add(`cache hit ratio=0.${g.digits(3)} keys=${g.int(1, 99999)} version=${g.int(1, 9)}.${g.int(0, 9)}.${g.int(0, 9)}`);
    else if (f === 11) d.add(`tracking no=SF${g.digits(12)} status=${g.pick(['IN_TRANSIT', 'DELIVERED'])}`);
    else if (f === 12) d.add('delivery addr=').plant('address', genAddress(g)).add(' tel=').plant('phone', genPhone(g));
    else d.add(`heartbeat uptime=${g.int(1, 999999)}s mem=${g.int(100, 4000)}MB`);
    d.add('\n');
  }
  return { kind: 'log', text: d.text, labels: d.labels };
}

function csv(g: Gen, target: number): CorpusDoc {
  const d = new Doc();
  d.add('用户ID,姓名,手机号,身份证号,收货地址,订单号,金额,下单时间,银行卡号,邮箱\n');
  let row = 0;
  while (d.text.length < target) {
    row++;
    d.add(`${100000 + row},`)
      .plant('name', genName(g))
      .add(',')
      .plant('phone', genPhone(g).replace(/\s/g, ''))
      .add(',');
    if (g.chance(0.9)) d.plant('id-card', genIdCard(g));
    d.add(',"').plant('address', genAddress(g)).add('",');
    d.add(
      `${g.pick(['2024', '2025'])}${g.digits(14)},${g.int(1, 9999)}.${g.digits(2)},2024-0${g.int(1, 9)}-1${g.int(0, 9)} 1${g.int(0, 9)}:${g.int(10, 59)}:${g.int(10, 59)},`,
    );
    if (g.chance(0.6)) d.plant('bank-card', genCardDigits(g));
    d.add(',').plant('email', genEmail(g)).add('\n');
  }
  return { kind: 'csv', text: d.text, labels: d.labels };
}

function json(g: Gen, target: number): CorpusDoc {
  const d = new Doc();
  d.add('[\n');
  let first = true;
  while (d.text.length < target) {
    if (!first) d.add(',\n');
    first = false;
    d.add(`  {"uid": ${g.int(1, 9999999)}, "name": "`)
      .plant('name', genName(g))
      .add('", "mobile": "')
      .plant('phone', genPhone(g))
      .add('", ');
    d.add('"idNo": "').plant('id-card', genIdCard(g)).add('", ');
    d.add(
      `"orderNo": "${g.digits(20)}", "price": ${g.int(1, 9999)}.${g.int(10, 99)}, "createdAt": ${1_700_000_000_000 + g.int(0, 99_999_999)}, `,
    );
    d.add('"device": {"imei": "')
      .plant('imei', genImei(g))
      .add('", "oaid": "')
      .plant('oaid', genUuid(g, false))
      .add('", "mac": "')
      .plant('mac', genMac(g))
      .add('"}, ');
    d.add('"plate": "').plant('licence-plate', genPlate(g)).add('", ');
    d.add('"address": "').plant('address', genAddress(g)).add('", ');
    d.add('"passport": "').plant('passport', genPassport(g)).add('", ');
    d.add(`"traceId": "${g.hex(32)}", "version": "${g.int(1, 9)}.${g.int(0, 20)}.${g.int(0, 99)}"}`);
  }
  d.add('\n]\n');
  return { kind: 'json', text: d.text, labels: d.labels };
}

/** The corpus: `size` characters in total, spread over prose, logs, CSV and JSON documents. */
export function generateCorpus(seed: number, size: number): CorpusDoc[] {
  const g = new Gen(prng(seed));
  const docs: CorpusDoc[] = [];
  let total = 0;
  const docSize = 16 * 1024;
  while (total < size) {
    const k = docs.length % 4;
    const doc = k === 0 ? prose(g, docSize) : k === 1 ? logs(g, docSize) : k === 2 ? csv(g, docSize) : json(g, docSize);
    docs.push(doc);
    total += doc.text.length;
  }
  return docs;
}

export const LABEL_TYPES: readonly LabelType[] = [
  'id-card',
  'foreign-permanent-residence',
  'residence-permit',
  'phone',
  'landline',
  'bank-card',
  'credit-code',
  'passport',
  'hk-macao-permit',
  'licence-plate',
  'email',
  'ipv4',
  'ipv6',
  'mac',
  'imei',
  'imsi',
  'meid',
  'idfa',
  'idfv',
  'oaid',
  'android-id',
  'url-credentials',
  'name',
  'address',
];
