/**
 * China's public holidays and adjusted working days (调休上班), as data, from the State Council
 * General Office's yearly notices (国务院办公厅关于 20XX 年部分节假日安排的通知).
 *
 * `holidays` are the rest periods exactly as the notice gives them ("1月28日至2月4日放假调休，共8天"),
 * weekends inside them included. `workdays` are the weekend days the notice makes working days
 * ("1月26日（周日）、2月8日（周六）上班").
 *
 * A new notice comes out each November: add the year here, or let operators add it without a release
 * (a JSON file in the same shape, `loadHolidayCalendarFile` in calendar.ts). A year an operator supplies
 * replaces the same year here.
 */
import type { HolidayCalendarData } from './calendar.js';

export const CN_HOLIDAYS: HolidayCalendarData = {
  region: 'CN',
  timeZone: 'Asia/Shanghai',
  years: [
    {
      year: 2025,
      source: {
        title: '国务院办公厅关于2025年部分节假日安排的通知',
        docNumber: '国办发明电〔2024〕12号',
        issuer: '国务院办公厅',
        published: '2024-11-12',
        url: 'https://www.gov.cn/zhengce/zhengceku/202411/content_6986383.htm',
        note: '《全国年节及纪念日放假办法》2024年11月修订后首个年度安排：春节、劳动节各增加1天。',
      },
      holidays: [
        { name: '元旦', nameEn: "New Year's Day", from: '2025-01-01', to: '2025-01-01' },
        { name: '春节', nameEn: 'Spring Festival', from: '2025-01-28', to: '2025-02-04' },
        { name: '清明节', nameEn: 'Qingming Festival', from: '2025-04-04', to: '2025-04-06' },
        { name: '劳动节', nameEn: 'Labour Day', from: '2025-05-01', to: '2025-05-05' },
        { name: '端午节', nameEn: 'Dragon Boat Festival', from: '2025-05-31', to: '2025-06-02' },
        { name: '国庆节、中秋节', nameEn: 'National Day and Mid-Autumn Festival', from: '2025-10-01', to: '2025-10-08' },
      ],
      workdays: [
        { date: '2025-01-26', name: '春节' },
        { date: '2025-02-08', name: '春节' },
        { date: '2025-04-27', name: '劳动节' },
        { date: '2025-09-28', name: '国庆节、中秋节' },
        { date: '2025-10-11', name: '国庆节、中秋节' },
      ],
    },
    {
      year: 2026,
      source: {
        title: '国务院办公厅关于2026年部分节假日安排的通知',
        issuer: '国务院办公厅',
        published: '2025-11-04',
        url: 'https://www.gov.cn/zhengce/zhengceku/202511/content_7047091.htm',
        note: '新华社 2025-11-04 受权发布全文。',
      },
      holidays: [
        { name: '元旦', nameEn: "New Year's Day", from: '2026-01-01', to: '2026-01-03' },
        { name: '春节', nameEn: 'Spring Festival', from: '2026-02-15', to: '2026-02-23' },
        { name: '清明节', nameEn: 'Qingming Festival', from: '2026-04-04', to: '2026-04-06' },
        { name: '劳动节', nameEn: 'Labour Day', from: '2026-05-01', to: '2026-05-05' },
        { name: '端午节', nameEn: 'Dragon Boat Festival', from: '2026-06-19', to: '2026-06-21' },
        { name: '中秋节', nameEn: 'Mid-Autumn Festival', from: '2026-09-25', to: '2026-09-27' },
        { name: '国庆节', nameEn: 'National Day', from: '2026-10-01', to: '2026-10-07' },
      ],
      workdays: [
        { date: '2026-01-04', name: '元旦' },
        { date: '2026-02-14', name: '春节' },
        { date: '2026-02-28', name: '春节' },
        { date: '2026-05-09', name: '劳动节' },
        { date: '2026-09-20', name: '国庆节' },
        { date: '2026-10-10', name: '国庆节' },
      ],
    },
  ],
};
