/** Citations (law or standard + article) in zh and en for the rules. */
import type { LintBilingual } from './types.js';

const PIPL_ZH = '《中华人民共和国个人信息保护法》';
const PIPL_EN = 'Personal Information Protection Law of the PRC (PIPL)';

/** `pipl('第十七条', 'art. 17')` */
export function pipl(zh: string, en: string): LintBilingual {
  return { zh: `${PIPL_ZH}${zh}`, en: `${PIPL_EN}, ${en}` };
}

/** GB/T 35273-2020 clause, e.g. `gbt('8.5')`; `en` when the zh clause text is not plain digits. */
export function gbt(clause: string, en = clause): LintBilingual {
  return {
    zh: `GB/T 35273-2020《信息安全技术 个人信息安全规范》${clause}`,
    en: `GB/T 35273-2020 Information security technology — Personal information security specification, clause ${en}`,
  };
}

/** 《App违法违规收集使用个人信息行为认定方法》 item (一 … 六). */
export function miitMethod(itemZh: string, itemEn: string): LintBilingual {
  return {
    zh: `《App违法违规收集使用个人信息行为认定方法》（国信办秘字〔2019〕191号）第${itemZh}条`,
    en: `Methods for Identifying Illegal Collection and Use of Personal Information by Apps (2019), item ${itemEn}`,
  };
}

export const MIIT_164: LintBilingual = {
  zh: '《工业和信息化部关于开展纵深推进APP侵害用户权益专项整治行动的通知》（工信部信管函〔2020〕164号）',
  en: 'MIIT notice on deepening the campaign against apps infringing user rights (MIIT Xinguanhan [2020] No. 164)',
};

export const MIIT_292: LintBilingual = {
  zh: '《工业和信息化部关于开展信息通信服务感知提升行动的通知》（工信部信管函〔2021〕292号）“双清单”要求',
  en: 'MIIT notice on improving the perceived quality of information and communication services (MIIT Xinguanhan [2021] No. 292), the "two lists"',
};

export const MIIT_337: LintBilingual = {
  zh: '《工业和信息化部关于开展APP侵害用户权益专项整治工作的通知》（工信部信管函〔2019〕337号）',
  en: 'MIIT notice on the campaign against apps infringing user rights (MIIT Xinguanhan [2019] No. 337)',
};

export const MIIT_26: LintBilingual = {
  zh: '《工业和信息化部关于进一步提升移动互联网应用服务能力的通知》（工信部信管〔2023〕26号）',
  en: 'MIIT notice on further improving the service capability of mobile internet apps (MIIT Xinguan [2023] No. 26)',
};

export const NEC: LintBilingual = {
  zh: '《常见类型移动互联网应用程序必要个人信息范围规定》（国信办秘字〔2021〕14号）第三条至第五条',
  en: 'Provisions on the Scope of Necessary Personal Information for Common Types of Mobile Apps (2021), arts. 3–5',
};

export const GB41391: LintBilingual = {
  zh: 'GB/T 41391-2022《信息安全技术 移动互联网应用程序（App）收集个人信息基本要求》（设备标识符）',
  en: 'GB/T 41391-2022 Information security technology — Basic requirements for collecting personal information by mobile apps (device identifiers)',
};

export const TC260_SDK: LintBilingual = {
  zh: 'TC260-PG-20205A《网络安全标准实践指南—移动互联网应用程序（App）使用软件开发工具包（SDK）安全指引》5.2、5.3',
  en: 'TC260-PG-20205A Cybersecurity standard practice guide — Security guidelines for apps using SDKs, 5.2–5.3',
};

export const TAF_APPLIST: LintBilingual = {
  zh: 'T/TAF 077.6-2020、T/TAF 078.10-2020（软件安装列表）',
  en: 'T/TAF 077.6-2020 and T/TAF 078.10-2020 (installed-apps list)',
};

export const CAC_DPO: LintBilingual = {
  zh: `${PIPL_ZH}第五十二条；国家互联网信息办公室2025年关于个人信息保护负责人信息报送的公告`,
  en: `${PIPL_EN}, art. 52; CAC 2025 announcement on reporting the person responsible for personal-information protection`,
};
