/**
 * The starter declaration that `pipa init` writes: a complete, commented example (zh + en) that a new
 * operator edits into their own. It loads with `loadDeclaration` and lints without errors, so the
 * operator starts from a clean state and every finding afterwards comes from their own edits.
 */

/** Default file name of a declaration in a project. */
export const STARTER_FILE_NAME = 'pipa.policy.yaml';

export const STARTER_TEMPLATE = `# pipa 隐私政策声明（入门模板） / pipa privacy-policy declaration (starter)
#
# 这份声明按原样即可通过 \`pipa lint\`。请把每个示例值改为贵方应用的真实情况，删除不适用的内容，
# 然后运行 \`pipa lint pipa.policy.yaml\` 检查，运行 \`pipa render\` 生成隐私政策与“双清单”。
# This starter passes \`pipa lint\` as written. Replace every example value with what your app really
# does, delete what does not apply, then run \`pipa lint pipa.policy.yaml\` and \`pipa render\`.
#
# 文本可以写成字符串（简体中文），也可以写成 { zh: 中文, en: English }。
# A text is a string (simplified Chinese) or { zh: …, en: … }.
# 标识（id）用小写字母、数字、点和连字符，如 contact.phone、push-sdk。
# Ids are lower-case with dots and hyphens, e.g. contact.phone, push-sdk.
pipa: 1

# ---------------------------------------------------------------------------------------------
# 应用 / The app
app:
  id: example-app
  name: { zh: 示例应用, en: Example App }
  products:
    - name: { zh: 示例应用, en: Example App }
      platforms: [android, ios]
  # 《常见类型移动互联网应用程序必要个人信息范围规定》39 类之一（如 online-shopping、performance-ticketing），
  # 不属于其中任何一类时写 none。
  # One of the 39 app types of the NEC rules (e.g. online-shopping, performance-ticketing), or none.
  type: none
  # 基本业务功能：用户不提供非必要个人信息也能使用的功能。
  # The basic function: what works without any optional personal information.
  basicFunction: { zh: 浏览和预订本地活动, en: Browsing and booking local events }
  website: https://www.example.com

# ---------------------------------------------------------------------------------------------
# 个人信息处理者 / The controller (PIPL 17: name and contact)
controller:
  legalName: { zh: 示例科技有限公司, en: "Example Technology Co., Ltd." }
  registeredAddress: { zh: 北京市海淀区示例路1号, en: "1 Example Road, Haidian District, Beijing" }
  officeAddress: { zh: 北京市海淀区示例路1号, en: "1 Example Road, Haidian District, Beijing" }
  phone: ["400-000-0000"]
  email: [privacy@example.com]
  # 个人信息保护负责人（PIPL 52）：处理 100 万人以上个人信息时必须指定并公开联系方式。
  # Data protection officer (PIPL 52): required from one million individuals; publish the contact.
  dpo:
    title: { zh: 个人信息保护负责人, en: Data protection officer }
    email: [dpo@example.com]
    phone: ["400-000-0000"]
  # 投诉举报渠道 / Complaint channel
  complaint:
    zh: 可通过应用内“我的-帮助与反馈”或拨打 400-000-0000 投诉、举报，我们将在 15 个工作日内答复。
    en: File a complaint in the app under Me > Help & feedback or call 400-000-0000; we answer within 15 working days.

# ---------------------------------------------------------------------------------------------
# 版本 / Versions (the newest last). \`pipa diff\` compares two versions of this file.
versions:
  - version: "1.0"
    published: 2025-01-01
    effective: 2025-01-08
    summary: { zh: 首次发布, en: First publication }

# ---------------------------------------------------------------------------------------------
# 同意机制 / How consent is obtained (PIPL 14, MIIT 认定方法 三, GB/T 35273 5.3)
consent:
  impliedByUse: false          # “使用即同意”不是同意 / "using means agreeing" is not consent
  firstLaunchDialog: true      # 首次启动弹窗告知，同意前不收集 / dialog at first launch, nothing collected before
  preTicked: false             # 不默认勾选 / no pre-ticked boxes
  acceptsFutureChanges: false  # 不预先同意今后的修改 / no consent to future changes in advance
  refuseAllOrNothing: false    # 拒绝非必要处理不影响基本功能 / refusing extras keeps the basic function
  reaskAfterHours: 48          # 拒绝后 48 小时内不再询问 / do not ask again within 48 hours

# ---------------------------------------------------------------------------------------------
# 个人信息类别 / Categories of personal information
# 使用内置分类（GB/T 35273 附录 A、B）的标识；自定义类别以 custom. 开头，须写 label 和 sensitive。
# Use built-in taxonomy ids (GB/T 35273 Annex A/B); custom ids start with "custom." and need a label
# and "sensitive".
categories:
  - id: contact.phone
    encrypted: true
    masked: true
  - id: account.id
  - id: order.details
  # 敏感个人信息（PIPL 28）：单独同意，并说明必要性和影响。
  # Sensitive personal information (PIPL 28): separate consent and a statement of necessity.
  - id: location.precise
    encrypted: true
  # 可重置的设备标识符，优先于 IMEI、MAC 等不可变标识符（GB/T 41391）。
  # Resettable device identifiers, preferred over IMEI, MAC and other immutable ones (GB/T 41391).
  - id: device.id.oaid
  - id: device.id.idfv
  - id: device.model
  - id: device.os
  - id: network.ip
  - id: online.access-logs
  - id: custom.membership-level
    label: { zh: 会员等级, en: Membership level }
    sensitive: false

# ---------------------------------------------------------------------------------------------
# 收集来源 / How the data is collected
sources:
  - id: signup
    kind: registration-form
    description: { zh: 注册、登录时由用户填写, en: Entered by the user when signing up or in }
    categories: [contact.phone]
  - id: gps
    kind: device-api
    description: { zh: 用户打开“附近活动”时读取一次定位, en: Location read once when the user opens Nearby }
    categories: [location.precise]
    frequency: on-use
  - id: server-logs
    kind: log
    categories: [network.ip, online.access-logs]

# ---------------------------------------------------------------------------------------------
# 处理目的 / Purposes: one per business function (个人信息收集清单 = purpose, categories, scenario).
# basis: consent | contract | legal-duty | public-health-emergency | news-public-interest | public-data | other-law
# retention.trigger: collection | purpose-fulfilled | account-cancellation | consent-withdrawn |
#   contract-end | service-end | last-activity；period 为 ISO 8601 期间（P6M、P3Y），省略表示触发时即删除。
#   period is an ISO 8601 duration (P6M, P3Y); without it the data goes when the trigger happens.
purposes:
  - id: account
    name: { zh: 注册与登录, en: Sign-up and sign-in }
    description: { zh: 创建账号并通过短信验证码登录, en: Create an account and sign in with an SMS code }
    basis: contract
    required: true
    categories: [contact.phone, account.id, custom.membership-level]
    scenario: { zh: 注册、登录时, en: When signing up or in }
    sources: [signup]
    retention:
      - trigger: account-cancellation
        action: delete

  - id: bookings
    name: { zh: 预订与订单管理, en: Bookings and orders }
    basis: contract
    required: true
    categories: [contact.phone, order.details]
    scenario: { zh: 下单、查看订单时, en: When booking and viewing orders }
    retention:
      # 《电子商务法》第 31 条：交易信息自交易完成之日起保存不少于 3 年。
      # E-Commerce Law art. 31: transaction records are kept at least 3 years after the transaction.
      - trigger: contract-end
        period: P3Y
        action: delete
        note: { zh: 依《电子商务法》第三十一条保存, en: Kept under art. 31 of the E-Commerce Law }

  - id: nearby
    name: { zh: 附近活动推荐, en: Nearby events }
    basis: consent
    required: false
    separateConsent: true
    categories: [location.precise]
    scenario: { zh: 用户打开“附近活动”时, en: When the user opens Nearby }
    sources: [gps]
    necessity:
      zh: 仅用于计算您与活动场馆的距离，不保存行踪轨迹；拒绝后仍可按城市浏览活动。
      en: Used only to compute the distance to venues, no location history is kept; without it you can still browse by city.
    retention:
      - trigger: purpose-fulfilled
        action: delete

  - id: push-notifications
    name: { zh: 订单与活动消息推送, en: Order and event notifications }
    basis: consent
    required: false
    separateConsent: true
    categories: [device.id.oaid, device.id.idfv, device.model, device.os]
    scenario: { zh: 用户在设置中开启通知后, en: After the user turns notifications on }
    marketing:
      personalised: false
      nonPersonalisedOption: true
      optOut: { zh: 我的-设置-消息通知中关闭, en: Turn off under Me > Settings > Notifications }
      channels: [push]
    retention:
      - trigger: consent-withdrawn
        action: delete

  - id: security
    name: { zh: 保障账号与网络安全, en: Account and network security }
    # 《网络安全法》第 21 条：网络日志留存不少于六个月。
    # Cybersecurity Law art. 21: network logs are kept at least six months.
    basis: legal-duty
    required: true
    categories: [network.ip, online.access-logs]
    scenario: { zh: 使用应用期间, en: While the app is used }
    sources: [server-logs]
    retention:
      - trigger: collection
        period: P6M
        action: delete

# ---------------------------------------------------------------------------------------------
# 系统权限 / Permissions: ask when the feature starts, never at launch (MIIT 26 measures).
permissions:
  - id: location
    name: { zh: 位置权限, en: Location }
    android: [android.permission.ACCESS_FINE_LOCATION, android.permission.ACCESS_COARSE_LOCATION]
    ios: [NSLocationWhenInUseUsageDescription]
    purposes: [nearby]
    categories: [location.precise]
    requestedWhen: { zh: 首次打开“附近活动”时, en: When Nearby is opened the first time }
    requestedAtLaunch: false
    optional: true
    enabledByDefault: false
    ifDenied: { zh: 无法推荐附近活动，可按城市浏览, en: No nearby suggestions; browse by city instead }
  - id: notifications
    name: { zh: 通知权限, en: Notifications }
    android: [android.permission.POST_NOTIFICATIONS]
    purposes: [push-notifications]
    requestedWhen: { zh: 用户在设置中开启通知时, en: When the user turns notifications on }
    requestedAtLaunch: false
    optional: true
    enabledByDefault: false
    ifDenied: { zh: 不会收到推送，可在应用内查看消息, en: No push messages; messages stay visible in the app }

# ---------------------------------------------------------------------------------------------
# 第三方 / Recipients and embedded SDKs (第三方信息共享清单, PIPL 23, TC260-PG-20205A)
recipients:
  - id: push-sdk
    name: { zh: 示例推送SDK, en: Example Push SDK }
    kind: sdk
    company: { zh: 示例推送技术有限公司, en: "Example Push Technology Co., Ltd." }
    contact:
      email: [privacy@push.example.com]
    purposes: [push-notifications]
    purposeText: { zh: 向您的设备推送订单与活动消息, en: Deliver order and event messages to your device }
    categories: [device.id.oaid, device.id.idfv, device.model, device.os]
    method: sdk
    scenario: { zh: 用户开启通知后, en: After the user turns notifications on }
    deidentified: false
    consent: separate
    policyUrl: https://push.example.com/privacy
    selfStart: false
    wakesOtherApps: false
    crossBorder: false
    contracted: true

# ---------------------------------------------------------------------------------------------
# 未成年人 / Minors (PIPL 31: under 14 needs a guardian's consent and dedicated rules)
minors:
  ageThreshold: 14
  guardianConsent: true
  directedAtChildren: false
  under14Rules:
    zh: 《儿童个人信息保护规则》：https://www.example.com/children-privacy
    en: "Children's personal information rules: https://www.example.com/children-privacy"
  verification: { zh: 注册时询问年龄，不满 14 周岁的须由监护人确认, en: Age asked at sign-up; under 14 a guardian confirms }

# ---------------------------------------------------------------------------------------------
# 个人权利 / Rights (PIPL 44-50); answer within 15 working days (GB/T 35273 8.5, 8.7).
rights:
  responseTime: { value: 15, unit: working-days }
  externalDispute:
    zh: 如对答复不满意，可向网信、工信等监管部门投诉，或向被告住所地有管辖权的人民法院提起诉讼。
    en: If not satisfied, complain to the CAC, MIIT or another regulator, or sue in the competent court at the defendant's domicile.
  withdrawal:
    zh: 在“我的-设置-隐私-授权管理”中随时撤回同意，撤回与给出同意一样方便；撤回不影响此前基于同意的处理。
    en: Withdraw consent at any time under Me > Settings > Privacy > Permissions, as easily as it was given; earlier processing stays lawful.
  list:
    - right: access
      channels: [{ kind: in-app, detail: { zh: 我的-设置-隐私-个人信息查询, en: Me > Settings > Privacy > My data } }]
    - right: copy
      channels: [{ kind: in-app, detail: { zh: 我的-设置-隐私-下载个人信息副本, en: Me > Settings > Privacy > Download a copy } }]
    - right: portability
      channels: [{ kind: email, detail: dpo@example.com }]
    - right: correction
      channels: [{ kind: in-app, detail: { zh: 我的-个人资料, en: Me > Profile } }]
    - right: deletion
      channels: [{ kind: in-app }, { kind: email, detail: dpo@example.com }]
    - right: cancellation
      channels: [{ kind: in-app, detail: { zh: 我的-设置-账号与安全-注销账号, en: Me > Settings > Account > Cancel account } }]
    - right: withdrawal
      channels: [{ kind: in-app, detail: { zh: 我的-设置-隐私-授权管理, en: Me > Settings > Privacy > Permissions } }]
    - right: explanation
      channels: [{ kind: email, detail: dpo@example.com }, { kind: phone, detail: 400-000-0000 }]
    - right: restriction
      channels: [{ kind: email, detail: dpo@example.com }]
    - right: complaint
      channels: [{ kind: in-app }, { kind: phone, detail: 400-000-0000 }]
  cancellation:
    effect: immediate
    irreversibleWarning: true
    afterwards: delete-or-anonymise
    verification: [contact.phone]

# ---------------------------------------------------------------------------------------------
# 安全措施 / Security (PIPL 51, GB/T 35273 6.3)
security:
  measures:
    - encryption-at-rest
    - encryption-in-transit
    - access-control
    - masking
    - de-identification
    - audit-logging
    - staff-training
    - confidentiality-rules
    - incident-plan
    - pia
    - backup
    - classification
  encryptionAtRest: { algorithm: AES-256-GCM, scope: sensitive }
  encryptionInTransit: TLS 1.2+

# ---------------------------------------------------------------------------------------------
# 安全事件告知 / Incident notices (PIPL 57, GB/T 35273 10.2)
incidents:
  channels: [push, sms, email, announcement]
  content: [what-happened, impact, categories, cause, measures, self-protection, remedies, contact]
  reportsToRegulator: true

# ---------------------------------------------------------------------------------------------
# 存储地点与出境 / Storage location and cross-border provision (PIPL 36, 38-40)
storage:
  location: 中华人民共和国境内
  retention:
    zh: 我们只在实现目的所必需的最短期限内保存个人信息，期满后删除或匿名化处理，法律另有规定的除外。
    en: Personal information is kept only as long as the purpose needs, then deleted or anonymised, unless a law requires otherwise.

# ---------------------------------------------------------------------------------------------
# 公开披露与转让 / Public disclosure and transfer (PIPL 25, 22)
disclosure:
  public: { occurs: false }
  transfer:
    occurs: false
    notifyRecipientName: true

# ---------------------------------------------------------------------------------------------
# 政策变更 / Changes to this policy (PIPL 14, 17)
changes:
  notification: [pop-up, in-app]
  materialChangeNotice: true
  noReductionWithoutConsent: true

# ---------------------------------------------------------------------------------------------
# 个人信息保护影响评估 / Personal-information impact assessment (PIPL 55-56): fill in your own.
pia:
  done: true
  date: 2024-12-20
  scope:
    - { zh: 处理敏感个人信息（精确位置）, en: Processing sensitive personal information (precise location) }
    - { zh: 向推送SDK提供设备信息, en: Providing device information to the push SDK }
`;
