/**
 * Log scrubbing for unexpected errors. Their messages come from libraries and may quote values
 * (a driver's "invalid input …: "13812345678""), so before an error reaches a log every quoted
 * string, e-mail address and run of 5+ digits is replaced. Deliberately blunt: a log line that is
 * a little less useful beats a log that holds personal information.
 */
export function scrubForLog(text: string): string {
  return text
    .replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[email]')
    .replace(/"[^"\n]*"|'[^'\n]*'|“[^”\n]*”|「[^」\n]*」/g, '"…"')
    .replace(/[0-9０-９][0-9０-９\s-]{3,}[0-9０-９Xx]/g, (m) => (m.replace(/\D/g, '').length >= 5 ? '[digits]' : m));
}
