export { REDACTED, Redactor, redactorOf, secretParts } from './redactor';
export { hideInLogs, redactLogArgs } from './log-redaction';
