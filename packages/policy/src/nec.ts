/**
 * The 39 app types of 常见类型移动互联网应用程序必要个人信息范围规定 (2021, "NEC") with the
 * basic function and the necessary personal information of each, mapped to taxonomy ids.
 * An empty `necessary` list means the rule says the basic function needs no personal information
 * (无须个人信息即可使用基本功能服务).
 */
export interface NecType {
  id: string;
  zh: string;
  en: string;
  basicFunction: string;
  necessary: readonly string[];
}

const PAYMENT = 'finance.payment';
const PHONE = 'contact.phone';
const ID_DOCS = ['basic.name', 'identity.document-type', 'identity.id-card'];

export const NEC_TYPES: readonly NecType[] = [
  {
    id: 'map-navigation',
    zh: '地图导航类',
    en: 'Maps and navigation',
    basicFunction: '定位和导航',
    necessary: ['location.precise', 'location.coarse'],
  },
  {
    id: 'ride-hailing',
    zh: '网络约车类',
    en: 'Ride hailing',
    basicFunction: '网络预约出租汽车服务、巡游出租汽车电召服务',
    necessary: [PHONE, 'location.precise', 'location.track', PAYMENT],
  },
  {
    id: 'instant-messaging',
    zh: '即时通信类',
    en: 'Instant messaging',
    basicFunction: '提供文字、图片、语音、视频等网络即时通信服务',
    necessary: [PHONE, 'account.id', 'contacts.friends'],
  },
  {
    id: 'online-community',
    zh: '网络社区类',
    en: 'Online community',
    basicFunction: '博客、论坛、社区等话题讨论、信息分享和关注互动',
    necessary: [PHONE],
  },
  {
    id: 'online-payment',
    zh: '网络支付类',
    en: 'Online payment',
    basicFunction: '网络支付、提现、转账等功能',
    necessary: [PHONE, ...ID_DOCS, 'finance.bank-account'],
  },
  {
    id: 'online-shopping',
    zh: '网上购物类',
    en: 'Online shopping',
    basicFunction: '购买商品',
    necessary: [PHONE, 'basic.name', 'contact.address', PAYMENT],
  },
  {
    id: 'food-delivery',
    zh: '餐饮外卖类',
    en: 'Food delivery',
    basicFunction: '餐饮购买及外送',
    necessary: [PHONE, 'basic.name', 'contact.address', PAYMENT],
  },
  {
    id: 'postal-express',
    zh: '邮件快件寄递类',
    en: 'Postal and express delivery',
    basicFunction: '信件、包裹、印刷品等物品寄递服务',
    necessary: [...ID_DOCS, PHONE, 'contact.address'],
  },
  {
    id: 'transport-ticketing',
    zh: '交通票务类',
    en: 'Transport ticketing',
    basicFunction: '交通相关的票务服务及行程管理',
    necessary: [PHONE, ...ID_DOCS, PAYMENT],
  },
  {
    id: 'dating',
    zh: '婚恋相亲类',
    en: 'Dating and matchmaking',
    basicFunction: '婚恋相亲',
    necessary: [PHONE, 'basic.gender', 'basic.age', 'basic.marital-status'],
  },
  { id: 'recruitment', zh: '求职招聘类', en: 'Recruitment', basicFunction: '求职招聘信息交换', necessary: ['work.resume'] },
  {
    id: 'online-lending',
    zh: '网络借贷类',
    en: 'Online lending',
    basicFunction: '通过互联网平台实现的用于消费、日常生产经营周转等的个人申贷服务',
    necessary: [PHONE, ...ID_DOCS, 'finance.bank-account'],
  },
  { id: 'housing', zh: '房屋租售类', en: 'Housing rental and sale', basicFunction: '个人房源信息发布、房屋出租或买卖', necessary: [PHONE] },
  { id: 'used-cars', zh: '二手车交易类', en: 'Used car trading', basicFunction: '二手车买卖信息交换', necessary: [PHONE, ...ID_DOCS] },
  {
    id: 'medical-appointments',
    zh: '问诊挂号类',
    en: 'Medical consultation and appointments',
    basicFunction: '在线咨询问诊、预约挂号',
    necessary: [PHONE, ...ID_DOCS, 'health.records'],
  },
  { id: 'travel', zh: '旅游服务类', en: 'Travel services', basicFunction: '旅游服务产品信息的发布与订购', necessary: [...ID_DOCS, PHONE] },
  {
    id: 'hotel',
    zh: '酒店服务类',
    en: 'Hotel services',
    basicFunction: '酒店预订',
    necessary: ['basic.name', PHONE, 'location.accommodation'],
  },
  { id: 'online-games', zh: '网络游戏类', en: 'Online games', basicFunction: '提供网络游戏产品和服务', necessary: [PHONE] },
  { id: 'education', zh: '学习教育类', en: 'Education', basicFunction: '在线辅导、网络课堂等', necessary: [PHONE] },
  {
    id: 'local-life',
    zh: '本地生活类',
    en: 'Local services',
    basicFunction: '家政维修、家居装修、二手闲置物品交易等日常生活服务',
    necessary: [PHONE],
  },
  {
    id: 'womens-health',
    zh: '女性健康类',
    en: "Women's health",
    basicFunction: '女性经期管理、备孕育儿、美容美体等健康管理服务',
    necessary: [],
  },
  {
    id: 'car-services',
    zh: '用车服务类',
    en: 'Car services',
    basicFunction: '共享单车、分时租赁汽车、汽车养护、加油、洗车等',
    necessary: [PHONE, ...ID_DOCS, 'location.precise', PAYMENT],
  },
  {
    id: 'investment',
    zh: '投资理财类',
    en: 'Investment',
    basicFunction: '股票、期货、基金、债券等相关投资理财服务',
    necessary: [PHONE, ...ID_DOCS, 'identity.document-image', 'finance.bank-account'],
  },
  {
    id: 'mobile-banking',
    zh: '手机银行类',
    en: 'Mobile banking',
    basicFunction: '通过手机等移动智能终端设备进行银行账户管理、信息查询、转账汇款等服务',
    necessary: [PHONE, ...ID_DOCS, 'identity.document-image', 'finance.bank-account'],
  },
  { id: 'mail-cloud-storage', zh: '邮箱云盘类', en: 'Mail and cloud storage', basicFunction: '邮箱、云盘等', necessary: [PHONE] },
  { id: 'remote-meeting', zh: '远程会议类', en: 'Remote meetings', basicFunction: '通过网络提供音频或视频会议', necessary: [PHONE] },
  {
    id: 'live-streaming',
    zh: '网络直播类',
    en: 'Live streaming',
    basicFunction: '向公众持续提供实时视频、音频、图文等形式信息浏览服务',
    necessary: [],
  },
  { id: 'online-audio-video', zh: '在线影音类', en: 'Online audio and video', basicFunction: '影视、音乐搜索和播放', necessary: [] },
  { id: 'short-video', zh: '短视频类', en: 'Short video', basicFunction: '不超过一定时长的视频搜索、播放', necessary: [] },
  { id: 'news', zh: '新闻资讯类', en: 'News', basicFunction: '新闻资讯的浏览、搜索', necessary: [] },
  { id: 'sports-fitness', zh: '运动健身类', en: 'Sports and fitness', basicFunction: '运动健身训练', necessary: [] },
  { id: 'browser', zh: '浏览器类', en: 'Browsers', basicFunction: '浏览互联网信息资源', necessary: [] },
  { id: 'input-method', zh: '输入法类', en: 'Input methods', basicFunction: '文字、符号等输入', necessary: [] },
  {
    id: 'security-management',
    zh: '安全管理类',
    en: 'Security management',
    basicFunction: '查杀病毒、清理恶意插件、修复漏洞等',
    necessary: [],
  },
  { id: 'e-books', zh: '电子图书类', en: 'E-books', basicFunction: '电子图书搜索、阅读', necessary: [] },
  { id: 'photo-editing', zh: '拍摄美化类', en: 'Photo and video editing', basicFunction: '拍摄、美颜、滤镜等', necessary: [] },
  { id: 'app-store', zh: '应用商店类', en: 'App stores', basicFunction: '移动互联网应用程序搜索、下载', necessary: [] },
  {
    id: 'utilities',
    zh: '实用工具类',
    en: 'Utilities',
    basicFunction:
      '日历、天气、词典翻译、计算器、遥控器、手电筒、指南针、时钟闹钟、文件传输、文件管理、壁纸铃声、截图录屏、录音、文档处理、智能家居助手、星座性格测试等',
    necessary: [],
  },
  {
    id: 'performance-ticketing',
    zh: '演出票务类',
    en: 'Performance ticketing',
    basicFunction: '演出购票',
    necessary: [PHONE, 'order.session-seat', PAYMENT],
  },
];

const NEC_BY_ID: ReadonlyMap<string, NecType> = new Map(NEC_TYPES.map((t) => [t.id, t]));

export function necType(id: string): NecType | undefined {
  return NEC_BY_ID.get(id);
}

export const NEC_TYPE_IDS: readonly string[] = NEC_TYPES.map((t) => t.id);
