// Service logs are JSON lines meant for log shippers; in tests they only bury jest's report.
// Set LOG_SILENT=0 to see them.
process.env.LOG_SILENT = process.env.LOG_SILENT ?? '1';
