/**
 * Built-in taxonomy of personal-information categories, aligned with GB/T 35273-2020
 * Annex A (个人信息举例) and Annex B (个人敏感信息判定). Ids are stable: never rename one,
 * add a new id and keep the old one.
 *
 * `group` is the Annex A heading; `sensitive` follows Annex B (an app may mark a
 * non-sensitive category as sensitive in its declaration, never the reverse).
 * `immutableDeviceId` marks hardware identifiers that the user cannot reset (GB/T 41391).
 */
export interface TaxonomyCategory {
  id: string;
  group: TaxonomyGroup;
  zh: string;
  en: string;
  sensitive: boolean;
  immutableDeviceId?: boolean;
  /** Category that reveals installed apps (MIIT-337, TAF-APPLIST). */
  appList?: boolean;
  /** Category that is a location (precise or coarse). */
  location?: boolean;
}

export type TaxonomyGroup =
  | 'basic'
  | 'identity'
  | 'biometric'
  | 'account'
  | 'health'
  | 'work'
  | 'finance'
  | 'communication'
  | 'contacts'
  | 'online'
  | 'device'
  | 'location'
  | 'browser'
  | 'media'
  | 'other';

export const TAXONOMY_GROUPS: Record<TaxonomyGroup, { zh: string; en: string }> = {
  basic: { zh: '个人基本资料', en: 'Basic personal data' },
  identity: { zh: '个人身份信息', en: 'Identity documents' },
  biometric: { zh: '个人生物识别信息', en: 'Biometric information' },
  account: { zh: '网络身份标识信息', en: 'Online identifiers and credentials' },
  health: { zh: '个人健康生理信息', en: 'Health and physiological information' },
  work: { zh: '个人教育工作信息', en: 'Education and work' },
  finance: { zh: '个人财产信息', en: 'Financial and property information' },
  communication: { zh: '个人通信信息', en: 'Communications' },
  contacts: { zh: '联系人信息', en: 'Contacts' },
  online: { zh: '个人上网记录', en: 'Online activity records' },
  device: { zh: '个人常用设备信息', en: 'Device information' },
  location: { zh: '个人位置信息', en: 'Location information' },
  browser: { zh: '浏览器信息', en: 'Browser information' },
  media: { zh: '图片、音视频信息', en: 'Photos, audio and video' },
  other: { zh: '其他信息', en: 'Other information' },
};

const c = (
  id: string,
  group: TaxonomyGroup,
  zh: string,
  en: string,
  sensitive: boolean,
  extra: Partial<TaxonomyCategory> = {},
): TaxonomyCategory => ({ id, group, zh, en, sensitive, ...extra });

export const TAXONOMY: readonly TaxonomyCategory[] = [
  // A.1 个人基本资料
  c('basic.name', 'basic', '姓名', 'Name', false),
  c('basic.gender', 'basic', '性别', 'Gender', false),
  c('basic.birth-date', 'basic', '出生日期', 'Date of birth', false),
  c('basic.age', 'basic', '年龄', 'Age', false),
  c('basic.nationality', 'basic', '国籍', 'Nationality', false),
  c('basic.ethnicity', 'basic', '民族', 'Ethnicity', false),
  c('basic.marital-status', 'basic', '婚姻状况', 'Marital status', false),
  c('contact.phone', 'basic', '手机号码', 'Mobile phone number', false),
  c('contact.landline', 'basic', '固定电话', 'Landline number', false),
  c('contact.email', 'basic', '电子邮件地址', 'Email address', false),
  c('contact.address', 'basic', '联系地址', 'Postal address', false),
  c('contact.postcode', 'basic', '邮政编码', 'Postcode', false),
  // A.2 / B 个人身份信息 (sensitive)
  c('identity.document-type', 'identity', '证件类型', 'Identity document type', false),
  c('identity.id-card', 'identity', '居民身份证号码', 'Resident identity card number', true),
  c('identity.passport', 'identity', '护照', 'Passport', true),
  c('identity.driving-licence', 'identity', '驾驶证', 'Driving licence', true),
  c('identity.hk-macao-permit', 'identity', '港澳台通行证', 'Mainland travel permit', true),
  c('identity.residence-permit', 'identity', '居住证', 'Residence permit', true),
  c('identity.social-security-card', 'identity', '社保卡', 'Social security card', true),
  c('identity.military-id', 'identity', '军官证', 'Military officer card', true),
  c('identity.work-id', 'identity', '工作证', 'Employee card', true),
  c('identity.document-image', 'identity', '证件影印件', 'Copy of an identity document', true),
  c('identity.credit-code', 'identity', '统一社会信用代码（个体工商户）', 'Unified social credit code (sole proprietor)', false),
  // A.3 / B 个人生物识别信息 (sensitive)
  c('biometric.face', 'biometric', '面部识别特征', 'Facial features', true),
  c('biometric.fingerprint', 'biometric', '指纹', 'Fingerprint', true),
  c('biometric.voiceprint', 'biometric', '声纹', 'Voiceprint', true),
  c('biometric.iris', 'biometric', '虹膜', 'Iris', true),
  c('biometric.genetic', 'biometric', '基因', 'Genetic data', true),
  // A.4 网络身份标识信息
  c('account.id', 'account', '系统账号', 'Account id', false),
  c('account.username', 'account', '用户名、昵称', 'User name or nickname', false),
  c('account.password', 'account', '密码、口令及口令保护答案', 'Password and security answers', true),
  c('account.certificate', 'account', '个人数字证书', 'Personal digital certificate', true),
  c('account.openid', 'account', '社交平台OpenID', 'Social platform OpenID', false),
  c('account.customer-code', 'account', '客户代码', 'Customer code', false),
  // A.5 个人健康生理信息 (sensitive)
  c('health.records', 'health', '病历、诊疗记录', 'Medical records', true),
  c('health.physiological', 'health', '身高、体重等生理信息', 'Height, weight and other physiological data', true),
  c('health.reproductive', 'health', '生育信息', 'Reproductive health', true),
  // A.6 个人教育工作信息
  c('work.employer', 'work', '工作单位', 'Employer', false),
  c('work.position', 'work', '职业、职位', 'Occupation and position', false),
  c('work.education', 'work', '学历、学位、教育经历', 'Education', false),
  c('work.resume', 'work', '简历', 'CV', false),
  // A.7 / B 个人财产信息 (sensitive)
  c('finance.bank-account', 'finance', '银行账户、银行卡号', 'Bank account or card number', true),
  c('finance.payment-account', 'finance', '第三方支付账户信息', 'Third-party payment account', true),
  c('finance.payment', 'finance', '支付信息（支付时间、金额、渠道）', 'Payment information (time, amount, channel)', true),
  c('finance.transactions', 'finance', '交易和消费记录', 'Transaction records', true),
  c('finance.credit', 'finance', '征信信息', 'Credit records', true),
  c('finance.property', 'finance', '房产、存款等财产信息', 'Property and deposits', true),
  c('finance.virtual-assets', 'finance', '虚拟财产', 'Virtual assets', true),
  // A.8 个人通信信息 (sensitive per B)
  c('communication.records', 'communication', '通信记录', 'Communication records', true),
  c('communication.content', 'communication', '短信、彩信、电子邮件及描述个人通信的数据', 'Messages and their content', true),
  // A.9 联系人信息
  c('contacts.address-book', 'contacts', '通讯录', 'Address book', true),
  c('contacts.friends', 'contacts', '好友列表、群组列表', 'Friends and groups lists', true),
  // A.10 个人上网记录
  c('online.browsing-history', 'online', '网页浏览记录', 'Browsing history', true),
  c('online.search-queries', 'online', '搜索查询内容', 'Search queries', false),
  c('online.access-logs', 'online', '访问日期和时间、操作记录等网络日志', 'Access logs (dates, times, actions)', false),
  c('online.app-usage', 'online', '应用使用行为信息', 'App usage behaviour', false),
  c('online.preferences', 'online', '使用习惯和偏好', 'Habits and preferences', false),
  c('online.crash-logs', 'online', '应用启动数据及异常错误日志', 'App start-up data and crash logs', false),
  c('online.language', 'online', '使用的语言', 'Language used', false),
  c('online.posts', 'online', '用户发布的内容', 'Content the user publishes', false),
  // A.11 个人常用设备信息
  c('device.model', 'device', '设备型号、品牌、厂商', 'Device model, brand and maker', false),
  c('device.os', 'device', '操作系统及版本', 'Operating system and version', false),
  c('device.settings', 'device', '设备设置信息', 'Device settings', false),
  c('device.hardware', 'device', '软硬件特征信息', 'Hardware and software characteristics', false),
  c('device.id.unique', 'device', '唯一设备标识符', 'Unique device identifier (unspecified)', false),
  c('device.id.imei', 'device', '国际移动设备识别码（IMEI）', 'IMEI', false, { immutableDeviceId: true }),
  c('device.id.meid', 'device', '移动设备识别码（MEID）', 'MEID', false, { immutableDeviceId: true }),
  c('device.id.imsi', 'device', '国际移动用户识别码（IMSI）', 'IMSI', false, { immutableDeviceId: true }),
  c('device.id.mac', 'device', 'MAC地址', 'MAC address', false, { immutableDeviceId: true }),
  c('device.id.serial', 'device', '设备序列号', 'Device serial number', false, { immutableDeviceId: true }),
  c('device.id.iccid', 'device', 'SIM卡序列号（ICCID）', 'SIM card serial (ICCID)', false, { immutableDeviceId: true }),
  c('device.id.android-id', 'device', 'Android ID', 'Android ID', false),
  c('device.id.idfa', 'device', 'iOS广告标识符（IDFA）', 'iOS advertising identifier (IDFA)', false),
  c('device.id.idfv', 'device', 'iOS应用开发商标识符（IDFV）', 'iOS vendor identifier (IDFV)', false),
  c('device.id.oaid', 'device', '匿名设备标识符（OAID）', 'Open anonymous device identifier (OAID)', false),
  c('device.sim', 'device', 'SIM卡信息', 'SIM card information', false),
  c('device.phone-state', 'device', '手机状态和身份', 'Phone state and identity', false),
  c('device.installed-apps', 'device', '软件安装列表', 'Installed apps list', false, { appList: true }),
  c('device.storage', 'device', '存储的个人文件、SD卡信息', 'Stored files and SD card information', false),
  c('device.status', 'device', '设备状态和系统运营信息', 'Device status and system operation information', false),
  c('device.network', 'device', '网络状态信息', 'Network status', false),
  c('device.sensors', 'device', '传感器信息', 'Sensor information', false),
  c('network.ip', 'device', 'IP地址', 'IP address', false),
  c('network.port-protocol', 'device', '端口、网络协议', 'Port and network protocol', false),
  c('network.carrier', 'device', '电信运营商', 'Mobile carrier', false),
  c('network.wifi', 'device', 'Wi-Fi信息（WLAN接入点）', 'Wi-Fi access points', false),
  // A.12 个人位置信息
  c('location.precise', 'location', '精确位置信息（GPS）', 'Precise location (GPS)', true, { location: true }),
  c('location.coarse', 'location', '大致位置信息', 'Approximate location', false, { location: true }),
  c('location.cell', 'location', '基站信息', 'Cell tower information', false, { location: true }),
  c('location.bluetooth', 'location', '蓝牙信号位置信息', 'Bluetooth-based location', false, { location: true }),
  c('location.track', 'location', '行踪轨迹', 'Location history (tracks)', true, { location: true }),
  c('location.accommodation', 'location', '住宿信息', 'Accommodation records', true, { location: true }),
  // browser
  c(
    'browser.info',
    'browser',
    '浏览器信息（类型、时区、插件、语言、字体）',
    'Browser information (type, time zone, plug-ins, language, fonts)',
    false,
  ),
  c('browser.fingerprint', 'browser', '浏览器指纹（如canvas渲染哈希值）', 'Browser fingerprint (e.g. canvas hash)', false),
  c('browser.cookies', 'browser', 'Cookie标识符', 'Cookie identifiers', false),
  // media
  c('media.photos', 'media', '照片、图片', 'Photos and images', false),
  c('media.videos', 'media', '视频', 'Videos', false),
  c('media.audio', 'media', '录音', 'Audio recordings', false),
  // B other sensitive
  c('other.religion', 'other', '宗教信仰', 'Religious belief', true),
  c('other.sexual-orientation', 'other', '性取向', 'Sexual orientation', true),
  c('other.criminal-record', 'other', '未公开的违法犯罪记录', 'Undisclosed criminal records', true),
  c('other.marital-history', 'other', '婚史', 'Marital history', true),
  c('other.minor-under-14', 'other', '不满十四周岁未成年人的个人信息', 'Personal information of children under 14', true),
  c('other.specific-identity', 'other', '特定身份信息', 'Specific identity', true),
  c('other.credit-evaluation', 'other', '信用评价信息', 'Credit evaluation', false),
  c('other.licence-plate', 'other', '机动车号牌', 'Vehicle licence plate', false),
  c('other.service-preferences', 'other', '所希望提供的服务或喜好信息', 'Services wanted and interests', false),
  c('order.details', 'other', '订单信息', 'Order details', false),
  c('order.session-seat', 'other', '观演场次、座位号', 'Performance session and seat', false),
  c('order.delivery', 'other', '收货人姓名、地址、联系电话', 'Delivery recipient, address and phone', false),
  c('other.support-interactions', 'other', '客服互动与支持记录', 'Support interactions', false),
];

const BY_ID: ReadonlyMap<string, TaxonomyCategory> = new Map(TAXONOMY.map((t) => [t.id, t]));

export function taxonomyCategory(id: string): TaxonomyCategory | undefined {
  return BY_ID.get(id);
}

export function isTaxonomyId(id: string): boolean {
  return BY_ID.has(id);
}

export const TAXONOMY_IDS: readonly string[] = TAXONOMY.map((t) => t.id);
