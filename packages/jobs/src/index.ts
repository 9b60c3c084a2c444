// @strata/jobs: job definitions shared by the services that enqueue them and the workers that
// run them, so both sides agree on queue, job name and payload by construction.
export {
  EMAIL_JOB_NAME,
  EMAIL_QUEUE,
  EMAIL_TEMPLATES,
  emailJobSchema,
  sendEmailJob,
  type EmailJobPayload,
  type EmailRecipient,
  type EmailTemplate,
  type EmailTemplateData,
} from './email.job';
