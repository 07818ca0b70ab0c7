// Event notification subscriptions over the fake runtime: the actions' answers and errors, the
// statuses, which events a subscription gets, the notifier's cursor across a restart and its
// retries, driven by a fake SNS publisher and the fixture's FakeClock.
#include <mutex>
#include <vector>

#include "api/sns_publisher.h"
#include "emulator/core/event_subscriptions.h"
#include "tests/scopes.h"
#include "tests/unit/control_plane_fixture.h"

namespace localrds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

//! Records what it is asked to publish and answers `outcome`.
class FakePublisher : public SnsPublisher {
 public:
  PublishResult Publish(const SnsMessage& m) override {
    std::lock_guard<std::mutex> lock(mutex_);
    ++calls;
    if (outcome == PublishOutcome::kDelivered) sent.push_back(m);
    return {outcome, "fake"};
  }
  std::vector<SnsMessage> Sent() {
    std::lock_guard<std::mutex> lock(mutex_);
    return sent;
  }
  std::vector<std::string> SentTo(const std::string& topic) {
    std::vector<std::string> out;
    for (const auto& m : Sent()) {
      if (m.topic_arn == topic) out.push_back(nlohmann::json::parse(m.message)["Event Message"]);
    }
    return out;
  }

  std::mutex mutex_;
  PublishOutcome outcome = PublishOutcome::kDelivered;
  int calls = 0;
  std::vector<SnsMessage> sent;
};

const std::string kTopicA = "arn:aws:sns:us-east-1:000000000000:topic-a";
const std::string kTopicB = "arn:aws:sns:us-east-1:000000000000:topic-b";

class EventSubscriptionTest : public ControlPlaneTest {
 protected:
  void Tune(EmulatorConfig& config) override {
    config.sns_publisher = &publisher_;
    config.notifier.first_backoff = std::chrono::milliseconds(100);
    config.notifier.max_backoff = std::chrono::milliseconds(400);
    config.notifier.give_up_after = std::chrono::seconds(10);
  }
  SubscriptionService& subs() { return cp_->subscriptions(); }
  std::string Notify() { return cp_->notifier().NotifyOnce(); }
  nlohmann::json Sub(const std::string& name) {
    auto r = subs().DescribeEventSubscriptions({{"SubscriptionName", name}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["EventSubscriptionsList"][0] : nlohmann::json();
  }
  nlohmann::json MustCreate(nlohmann::json req) {
    auto r = subs().CreateEventSubscription(req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)["EventSubscription"] : nlohmann::json();
  }
  //! Records the event `spec` of instance `id` (as the engine would).
  void Emit(const std::string& id, const EventSpec& spec) {
    Registry& reg = cp_->registry();
    InstanceRow row;
    {
      Registry::Locked l = reg.Lock();
      auto found = l.Find(reg.DefaultScope(), id);
      ASSERT_TRUE(found.ok());
      row = *found;
    }
    Mutation m;
    m.events.push_back(reg.MakeEvent(row, spec));
    ASSERT_TRUE(reg.Commit(std::move(m)).ok());
  }

  FakePublisher publisher_;
};

TEST_F(EventSubscriptionTest, CreateDescribeModifyDeleteWithRdsStatuses) {
  Create("db1");
  auto created = MustCreate({{"SubscriptionName", "Ops"},
                             {"SnsTopicArn", kTopicA},
                             {"SourceType", "db-instance"},
                             {"SourceIds", {"DB1"}},
                             {"EventCategories", {"Failover", "backup"}},
                             {"Tags", {{{"Key", "team"}, {"Value", "dba"}}}}});
  EXPECT_EQ(created["Status"], "creating");
  EXPECT_EQ(created["CustSubscriptionId"], "ops");
  EXPECT_EQ(created["CustomerAwsId"], "000000000000");
  EXPECT_EQ(created["EventSubscriptionArn"], "arn:aws:rds:us-east-1:000000000000:es:ops");
  EXPECT_EQ(created["SourceIdsList"], nlohmann::json({"db1"}));
  EXPECT_EQ(created["EventCategoriesList"], nlohmann::json({"failover", "backup"}));
  EXPECT_EQ(created["Enabled"], true);
  EXPECT_EQ(created["SubscriptionCreationTime"].get<std::string>().size(), 23u);
  Notify();
  EXPECT_EQ(Sub("ops")["Status"], "active");
  auto tags = cp_->metadata().ListTagsForResource(
      {{"ResourceName", "arn:aws:rds:us-east-1:000000000000:es:ops"}});
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ((*tags)["TagList"][0]["Value"], "dba");

  auto modified = subs().ModifyEventSubscription(
      {{"SubscriptionName", "ops"}, {"Enabled", false}, {"SnsTopicArn", kTopicB}});
  ASSERT_TRUE(modified.ok()) << modified.status().ToString();
  EXPECT_EQ((*modified)["EventSubscription"]["Status"], "modifying");
  EXPECT_EQ((*modified)["EventSubscription"]["Enabled"], false);
  Notify();
  EXPECT_EQ(Sub("ops")["Status"], "active");
  EXPECT_EQ(Sub("ops")["SnsTopicArn"], kTopicB);

  auto removed = subs().RemoveSourceIdentifierFromSubscription(
      {{"SubscriptionName", "ops"}, {"SourceIdentifier", "db1"}});
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE((*removed)["EventSubscription"].contains("SourceIdsList"));
  auto added = subs().AddSourceIdentifierToSubscription(
      {{"SubscriptionName", "ops"}, {"SourceIdentifier", "db1"}});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ((*added)["EventSubscription"]["SourceIdsList"], nlohmann::json({"db1"}));

  auto deleted = subs().DeleteEventSubscription({{"SubscriptionName", "ops"}});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ((*deleted)["EventSubscription"]["Status"], "deleting");
  ExpectError(subs().DescribeEventSubscriptions({{"SubscriptionName", "ops"}}).status(),
              "SubscriptionNotFound", 404, "Event Subscription ops not found.");
  auto all = subs().DescribeEventSubscriptions({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE((*all)["EventSubscriptionsList"].empty());
}

TEST_F(EventSubscriptionTest, ErrorsAreRdsCodesStatusesAndMessages) {
  Create("db1");
  MustCreate({{"SubscriptionName", "s1"}, {"SnsTopicArn", kTopicA}});
  ExpectError(subs()
                  .CreateEventSubscription({{"SubscriptionName", "S1"}, {"SnsTopicArn", kTopicA}})
                  .status(),
              "SubscriptionAlreadyExist", 400, "Subscription s1 already exists.");
  ExpectError(subs().CreateEventSubscription({{"SnsTopicArn", kTopicA}}).status(),
              "MissingParameter", 400, "The request must contain the parameter SubscriptionName.");
  ExpectError(subs()
                  .CreateEventSubscription({{"SubscriptionName", "s2"}, {"SnsTopicArn", "topic"}})
                  .status(),
              "SNSInvalidTopic", 400, "Invalid SNS topic ARN: topic");
  ExpectError(
      subs()
          .CreateEventSubscription({{"SubscriptionName", "s2"}, {"SnsTopicArn", kTopicA + ".fifo"}})
          .status(),
      "SNSInvalidTopic", 400, HasSubstr("FIFO"));
  ExpectError(
      subs()
          .CreateEventSubscription(
              {{"SubscriptionName", "s2"}, {"SnsTopicArn", kTopicA}, {"SourceType", "db-cluster"}})
          .status(),
      "InvalidParameterValue", 400, HasSubstr("Invalid source type: db-cluster"));
  ExpectError(subs()
                  .CreateEventSubscription({{"SubscriptionName", "s2"},
                                            {"SnsTopicArn", kTopicA},
                                            {"SourceType", "db-snapshot"},
                                            {"EventCategories", {"failover"}}})
                  .status(),
              "SubscriptionCategoryNotFound", 404,
              "Category failover not found for source type db-snapshot.");
  ExpectError(subs()
                  .CreateEventSubscription({{"SubscriptionName", "s2"},
                                            {"SnsTopicArn", kTopicA},
                                            {"SourceType", "db-instance"},
                                            {"SourceIds", {"nope"}}})
                  .status(),
              "SourceNotFound", 404, "Source ID nope not found.");
  ExpectError(
      subs()
          .CreateEventSubscription(
              {{"SubscriptionName", "s2"}, {"SnsTopicArn", kTopicA}, {"SourceIds", {"db1"}}})
          .status(),
      "InvalidParameterCombination", 400, HasSubstr("SourceType"));
  ExpectError(subs()
                  .AddSourceIdentifierToSubscription(
                      {{"SubscriptionName", "nope"}, {"SourceIdentifier", "db1"}})
                  .status(),
              "SubscriptionNotFound", 404, "Event Subscription nope not found.");
  ExpectError(subs()
                  .RemoveSourceIdentifierFromSubscription(
                      {{"SubscriptionName", "s1"}, {"SourceIdentifier", "db1"}})
                  .status(),
              "SourceNotFound", 404, "Source ID db1 not found.");
  ExpectError(subs().DeleteEventSubscription({{"SubscriptionName", "nope"}}).status(),
              "SubscriptionNotFound", 404, "Event Subscription nope not found.");
  ExpectError(subs().DescribeEventCategories({{"SourceType", "db-proxy"}}).status(),
              "InvalidParameterValue", 400, HasSubstr("Invalid source type: db-proxy"));
  // The quota is per account and Region: 20 here, and another Region still has room.
  for (int i = 2; i <= kEventSubscriptionQuota; ++i)
    MustCreate({{"SubscriptionName", "s" + std::to_string(i)}, {"SnsTopicArn", kTopicA}});
  ExpectError(subs()
                  .CreateEventSubscription({{"SubscriptionName", "s21"}, {"SnsTopicArn", kTopicA}})
                  .status(),
              "EventSubscriptionQuotaExceeded", 400,
              HasSubstr("maximum number of event subscriptions"));
  EXPECT_TRUE(
      subs()
          .CreateEventSubscription(In(kEu, {{"SubscriptionName", "s21"}, {"SnsTopicArn", kTopicA}}))
          .ok());
  auto page = subs().DescribeEventSubscriptions({{"MaxRecords", 20}});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ((*page)["EventSubscriptionsList"].size(), 20u);
  EXPECT_FALSE(page->contains("Marker"));
}

TEST_F(EventSubscriptionTest, DescribeEventCategoriesListsRdsSourceTypes) {
  auto all = subs().DescribeEventCategories({});
  ASSERT_TRUE(all.ok());
  std::vector<std::string> types;
  for (const auto& m : (*all)["EventCategoriesMapList"]) types.push_back(m["SourceType"]);
  EXPECT_THAT(types,
              ElementsAre("db-instance", "db-parameter-group", "db-security-group", "db-snapshot"));
  auto snap = subs().DescribeEventCategories({{"SourceType", "db-snapshot"}});
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ((*snap)["EventCategoriesMapList"].size(), 1u);
  // Every category localrds emits is one a subscription can name.
  for (const EventSpec& spec :
       {rds_events::kFailoverStarted, rds_events::kBackupFinished, rds_events::kStorageLow,
        rds_events::kRecoveryStarted, rds_events::kReplicationStopped}) {
    EXPECT_TRUE(IsEventCategory("db-instance", spec.category)) << spec.category;
  }
}

TEST_F(EventSubscriptionTest, MatchingEventsArePublishedInRdsFormatOnlyToTheirSubscriptions) {
  Notify();  // the first pass places the cursor
  Create("db1");
  Create("db2");
  clock_.Advance(1);  // the subscriptions are newer than the instances' creation events
  MustCreate({{"SubscriptionName", "failover-db1"},
              {"SnsTopicArn", kTopicA},
              {"SourceType", "db-instance"},
              {"SourceIds", {"db1"}},
              {"EventCategories", {"failover"}}});
  MustCreate({{"SubscriptionName", "everything"}, {"SnsTopicArn", kTopicB}});
  MustCreate({{"SubscriptionName", "off"}, {"SnsTopicArn", kTopicB}, {"Enabled", false}});
  MustCreate(In(kEu, {{"SubscriptionName", "eu"}, {"SnsTopicArn", kTopicB}}));
  Emit("db1", rds_events::kFailoverStarted);
  Emit("db2", rds_events::kFailoverStarted);
  Emit("db1", rds_events::kBackupFinished);
  Notify();
  EXPECT_THAT(publisher_.SentTo(kTopicA), ElementsAre("Multi-AZ instance failover started."));
  // "everything" has the three (and not db1/db2's creation: that came before it); "off" none.
  EXPECT_THAT(publisher_.SentTo(kTopicB),
              ElementsAre("Multi-AZ instance failover started.",
                          "Multi-AZ instance failover started.", "Finished DB Instance backup"));
  const SnsMessage first = publisher_.Sent()[0];
  EXPECT_EQ(first.subject, "RDS Notification Message");
  EXPECT_EQ(first.attributes.at("EventID"), "RDS-EVENT-0013");
  EXPECT_EQ(first.attributes.at("Resource"), "arn:aws:rds:us-east-1:000000000000:db:db1");
  const auto body = nlohmann::json::parse(first.message);
  EXPECT_EQ(body["Event Source"], "db-instance");
  EXPECT_EQ(body["Source ID"], "db1");
  EXPECT_EQ(body["Source ARN"], "arn:aws:rds:us-east-1:000000000000:db:db1");
  EXPECT_EQ(body["Identifier Link"],
            "https://console.aws.amazon.com/rds/home?region=us-east-1#dbinstance:id=db1");
  EXPECT_THAT(body["Event ID"].get<std::string>(), HasSubstr("#RDS-EVENT-0013"));
  EXPECT_EQ(body["Event Time"].get<std::string>().size(), 23u);  // 2026-12-06 11:41:01.123
  EXPECT_TRUE(body["Tags"].is_object());
  // Nothing twice.
  Notify();
  EXPECT_EQ(publisher_.Sent().size(), 4u);
}

TEST_F(EventSubscriptionTest, TheFirstPassStartsAtTheNewestEventAndTheCursorSurvivesRestart) {
  Create("db1");
  clock_.Advance(1);
  MustCreate({{"SubscriptionName", "all"},
              {"SnsTopicArn", kTopicA},
              {"SourceType", "db-instance"},
              {"EventCategories", {"failover"}}});
  Emit("db1", rds_events::kFailoverStarted);  // before the notifier ever ran: history
  Notify();
  EXPECT_TRUE(publisher_.Sent().empty());
  Emit("db1", rds_events::kFailoverCompleted);
  Restart();
  Notify();
  EXPECT_THAT(publisher_.SentTo(kTopicA), ElementsAre("Multi-AZ instance failover completed."));
}

TEST_F(EventSubscriptionTest, FailedDeliveriesAreRetriedWithBackoffAndSurviveARestart) {
  Notify();
  Create("db1");
  clock_.Advance(1);
  MustCreate({{"SubscriptionName", "all"},
              {"SnsTopicArn", kTopicA},
              {"SourceType", "db-instance"},
              {"EventCategories", {"failover"}}});
  publisher_.outcome = PublishOutcome::kFailed;
  Emit("db1", rds_events::kFailoverStarted);
  Emit("db1", rds_events::kFailoverCompleted);
  EXPECT_THAT(Notify(), HasSubstr("retrying in 100 ms"));
  EXPECT_EQ(publisher_.calls, 1);
  Notify();  // backing off: no attempt before 100 ms have passed
  EXPECT_EQ(publisher_.calls, 1);
  clock_.Advance(100);
  EXPECT_THAT(Notify(), HasSubstr("retrying in 200 ms"));
  EXPECT_EQ(publisher_.calls, 2);
  // localrds restarts while the endpoint is down; the endpoint comes back: nothing is lost.
  Restart();
  publisher_.outcome = PublishOutcome::kDelivered;
  Notify();
  EXPECT_THAT(publisher_.SentTo(kTopicA), ElementsAre("Multi-AZ instance failover started.",
                                                      "Multi-AZ instance failover completed."));
}

TEST_F(EventSubscriptionTest, AnEventIsGivenUpOnAfterTheRetryWindowAndTheNextOneGoes) {
  Notify();
  Create("db1");
  clock_.Advance(1);
  MustCreate({{"SubscriptionName", "all"},
              {"SnsTopicArn", kTopicA},
              {"SourceType", "db-instance"},
              {"EventCategories", {"failover"}}});
  publisher_.outcome = PublishOutcome::kFailed;
  Emit("db1", rds_events::kFailoverStarted);
  Notify();
  clock_.Advance(11000);
  EXPECT_THAT(Notify(), HasSubstr("given up"));
  publisher_.outcome = PublishOutcome::kDelivered;
  Emit("db1", rds_events::kFailoverCompleted);
  Notify();
  EXPECT_THAT(publisher_.SentTo(kTopicA), ElementsAre("Multi-AZ instance failover completed."));
}

TEST_F(EventSubscriptionTest, AMissingTopicMakesTheSubscriptionTopicNotExist) {
  Notify();
  Create("db1");
  MustCreate({{"SubscriptionName", "gone"}, {"SnsTopicArn", kTopicA}});
  publisher_.outcome = PublishOutcome::kTopicNotFound;
  Emit("db1", rds_events::kFailoverStarted);
  Notify();
  EXPECT_EQ(Sub("gone")["Status"], "topic-not-exist");
  publisher_.outcome = PublishOutcome::kNoPermission;
  ASSERT_TRUE(subs()
                  .ModifyEventSubscription({{"SubscriptionName", "gone"}, {"SnsTopicArn", kTopicB}})
                  .ok());
  Notify();  // active again
  Emit("db1", rds_events::kFailoverCompleted);
  Notify();
  EXPECT_EQ(Sub("gone")["Status"], "no-permission");
}

TEST_F(EventSubscriptionTest, WithoutAPublisherSubscriptionsWorkAndTheCursorFollows) {
  Notify();
  Create("db1");
  clock_.Advance(1);
  MustCreate({{"SubscriptionName", "all"},
              {"SnsTopicArn", kTopicA},
              {"SourceType", "db-instance"},
              {"EventCategories", {"failover"}}});
  EXPECT_EQ(Sub("all")["Status"], "creating");
  EventNotifier quiet(*catalog_, cp_->registry(), nullptr, clock_, NotifierConfig{});
  quiet.NotifyOnce();
  EXPECT_EQ(Sub("all")["Status"], "active");
  Emit("db1", rds_events::kFailoverStarted);
  quiet.NotifyOnce();
  // The events it walked past are not sent later by a notifier with a publisher.
  Notify();
  EXPECT_TRUE(publisher_.Sent().empty());
}

TEST(SnsPublisherTest, PublishBodyIsTheSnsQueryApi) {
  SnsMessage m{"arn:aws:sns:eu-west-1:123456789012:t",
               "RDS Notification Message",
               "{\"a\":\"b c\"}",
               {{"EventID", "RDS-EVENT-0013"}}};
  EXPECT_EQ(HttpSnsPublisher::PublishBody(m),
            "Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%"
            "3At&Subject=RDS%20Notification%20Message&Message=%7B%22a%22%3A%22b%20c%22%7D"
            "&MessageAttributes.entry.1.Name=EventID&MessageAttributes.entry.1.Value.DataType="
            "String&MessageAttributes.entry.1.Value.StringValue=RDS-EVENT-0013");
  EXPECT_FALSE(HttpSnsPublisher::Make("https://sns.us-east-1.amazonaws.com", "k", "s").ok());
  EXPECT_TRUE(HttpSnsPublisher::Make("http://127.0.0.1:4575", "k", "s").ok());
}

}  // namespace
}  // namespace localrds
