#include "core/grouping_learner_significance.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace pytheas::learner;

namespace {

Cell cell_of(std::initializer_list<double> scores) {
  Cell cell;
  for (double x : scores) cell.add(x);
  return cell;
}

}  // namespace

TEST_CASE("a cell keeps the sufficient statistics of its scores",
          "[grouping_learner_significance]") {
  auto cell = cell_of({1, 2, 3, 4});
  CHECK(cell.n == 4);
  CHECK(cell.mean() == Approx(2.5));
  CHECK(cell.sse() == Approx(5.0));
  CHECK(cell.variance() == Approx(5.0 / 3));
  Cell merged = cell_of({1, 2});
  merged.add(cell_of({3, 4}));
  CHECK(merged.sse() == Approx(cell.sse()));
  CHECK(Cell{}.sse() == 0);
}

TEST_CASE("the normal quantile matches the table, far into the tail",
          "[grouping_learner_significance]") {
  CHECK(normal_upper_quantile(0.5) == Approx(0).margin(1e-9));
  CHECK(normal_upper_quantile(0.05) == Approx(1.6448536269514715).epsilon(1e-8));
  CHECK(normal_upper_quantile(0.025) == Approx(1.9599639845400536).epsilon(1e-8));
  CHECK(normal_upper_quantile(1e-4) == Approx(3.7190164854557084).epsilon(1e-8));
  CHECK(normal_upper_quantile(1e-10) == Approx(6.361340889697421).epsilon(1e-8));
}

TEST_CASE("a t statistic reads as a smaller normal deviate with few degrees of freedom",
          "[grouping_learner_significance]") {
  // t(5) = 2.5706 has the tail of z = 1.96.
  CHECK(t_to_z(2.570582, 5) == Approx(1.96).margin(0.01));
  CHECK(t_to_z(-3, 10) == Approx(-t_to_z(3, 10)));
  CHECK(std::abs(t_to_z(3, 10)) < 3);
  CHECK(t_to_z(2, 1e6) == Approx(2).epsilon(1e-5));
  CHECK(t_to_z(2, std::numeric_limits<double>::infinity()) == 2);
}

TEST_CASE("welch compares two cells by their means and noise", "[grouping_learner_significance]") {
  const auto comparison = welch(cell_of({1, 2, 3, 4}), cell_of({0, 0, 1, 1}));
  CHECK(comparison.advantage == Approx(2));
  CHECK(comparison.t == Approx(2.82842712474619));
  CHECK(comparison.df == Approx(4.153846153846153));
  // Without any noise an advantage is certain.
  const auto exact = welch(cell_of({5, 5}), cell_of({1, 1}));
  CHECK(exact.advantage == 4);
  CHECK(std::isinf(exact.t));
  CHECK(std::isinf(exact.df));
}
