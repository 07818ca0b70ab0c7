"""The PostgreSQL log files of an instance, as RDS users read them: DescribeDBLogFiles and
DownloadDBLogFilePortion with boto3 (a portion, its paginator to the end) and the AWS CLI
(`download-db-log-file-portion --starting-token 0`, which returns the whole file); the text of a
failed query is in it; a file that is not there is DBLogFileNotFoundFault.

Run: cd tests/e2e && LOCALRDS_BIN=/work/main/build/localrds python3 -m unittest -v test_logs
"""

import datetime
import re
import unittest
import urllib.request

from harness import LocalrdsTestCase, MASTER_PASSWORD, MASTER_USER, psql, wait_until

HOURLY = re.compile(r"error/postgresql\.log\.\d{4}-\d\d-\d\d-\d\d")


class LogFilesTest(LocalrdsTestCase):

    def test_describe_download_and_paginate_the_log_of_a_failed_query(self):
        port = self.create("logdb", DBName="test")["Endpoint"]["Port"]
        rc, _, err = psql(port, MASTER_USER, MASTER_PASSWORD, "test",
                          "SELECT 1/0 AS logs_e2e_marker")
        self.assertNotEqual(rc, 0)
        self.assertIn("division by zero", err)

        files = self.rds.describe_db_log_files(DBInstanceIdentifier="logdb")["DescribeDBLogFiles"]
        names = [f["LogFileName"] for f in files]
        self.assertEqual(names[0], "error/postgres.log", names)
        hourly = [f for f in files if HOURLY.fullmatch(f["LogFileName"])]
        self.assertTrue(hourly, names)
        self.assertEqual(len(hourly) + 1, len(files), names)
        now = datetime.datetime.now(datetime.timezone.utc)
        newest = hourly[-1]
        self.assertIn(newest["LogFileName"],
                      {(now - datetime.timedelta(hours=h)).strftime(
                          "error/postgresql.log.%Y-%m-%d-%H") for h in (0, 1)})
        self.assertGreater(newest["Size"], 0)
        self.assertLess(abs(newest["LastWritten"] / 1000 - now.timestamp()), 600)
        only = self.rds.describe_db_log_files(DBInstanceIdentifier="logdb",
                                              FilenameContains=newest["LogFileName"][-13:])
        self.assertEqual([f["LogFileName"] for f in only["DescribeDBLogFiles"]],
                         [newest["LogFileName"]])
        name = newest["LogFileName"]

        # The collector writes the statement's lines a moment after psql returns.
        def whole_with_boto3():
            text = ""
            for page in self.rds.get_paginator("download_db_log_file_portion").paginate(
                    DBInstanceIdentifier="logdb", LogFileName=name, Marker="0",
                    PaginationConfig={"PageSize": 5}):
                text += page["LogFileData"]
            return text
        wait_until(lambda: "logs_e2e_marker" in whole_with_boto3(), 10, 0.2,
                   "the failed statement in the log")
        text = whole_with_boto3()
        self.assertRegex(text, r"UTC:127\.0\.0\.1\(\d+\):root@test:\[\d+\]:ERROR:  division by "
                               r"zero\n.*:STATEMENT:  SELECT 1/0 AS logs_e2e_marker\n")

        # A portion of 5 lines from the start, with a marker to go on from.
        first = self.rds.download_db_log_file_portion(DBInstanceIdentifier="logdb",
                                                      LogFileName=name, Marker="0",
                                                      NumberOfLines=5)
        self.assertEqual(first["LogFileData"], "".join(text.splitlines(True)[:5]))
        self.assertTrue(first["AdditionalDataPending"])
        self.assertEqual(first["Marker"], str(len(first["LogFileData"].encode())))
        second = self.rds.download_db_log_file_portion(DBInstanceIdentifier="logdb",
                                                       LogFileName=name, Marker=first["Marker"],
                                                       NumberOfLines=5)
        self.assertEqual(second["LogFileData"], "".join(text.splitlines(True)[5:10]))

        # The AWS CLI pages through the whole file from --starting-token 0.
        r = self.h.aws("rds", "download-db-log-file-portion", "--db-instance-identifier", "logdb",
                       "--log-file-name", name, "--starting-token", "0", "--output", "text")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.stdout.startswith(text[:200]), r)
        self.assertIn("STATEMENT:  SELECT 1/0 AS logs_e2e_marker", r.stdout)
        r = self.h.aws("rds", "download-db-log-file-portion", "--db-instance-identifier", "logdb",
                       "--log-file-name", name, "--starting-token", "0")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.json["LogFileData"].startswith(text), r)

        # A presigned URL reads a portion too (Download* changes nothing).
        url = self.rds.generate_presigned_url(
            "download_db_log_file_portion",
            Params={"DBInstanceIdentifier": "logdb", "LogFileName": name, "Marker": "0",
                    "NumberOfLines": 5})
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read().decode()
        self.assertIn("<LogFileData>", body)
        self.assertIn("<AdditionalDataPending>true</AdditionalDataPending>", body)

        # What the postmaster said before its collector started.
        startup = self.rds.download_db_log_file_portion(DBInstanceIdentifier="logdb",
                                                        LogFileName="error/postgres.log")
        self.assertIn("redirecting log output to logging collector process",
                      startup["LogFileData"])

        # Errors.
        err = self.assertClientError("DBLogFileNotFoundFault", 404,
                                     self.rds.download_db_log_file_portion,
                                     DBInstanceIdentifier="logdb",
                                     LogFileName="error/postgresql.log.2001-01-01-00")
        self.assertEqual(err["Message"], "DBLog File: error/postgresql.log.2001-01-01-00, is not "
                                         "found on the DB instance")
        self.assertClientError("InvalidParameterValue", 400,
                               self.rds.download_db_log_file_portion,
                               DBInstanceIdentifier="logdb", LogFileName=name, NumberOfLines=0)
        self.assertClientError("DBInstanceNotFound", 404, self.rds.describe_db_log_files,
                               DBInstanceIdentifier="nosuchdb")
        r = self.h.aws("rds", "download-db-log-file-portion", "--db-instance-identifier", "logdb",
                       "--log-file-name", "error/nope", "--starting-token", "0")
        self.assertNotEqual(r.rc, 0)
        self.assertEqual(r.error_code, "DBLogFileNotFoundFault", r)


if __name__ == "__main__":
    unittest.main()
